// A tuned Hubot adapter: reads one message per line from stdin, hands them to
// Hubot one at a time (each sees the ones before it, as opsgate's do) and
// writes replies 256 per write. Faster and lighter than Hubot as shipped;
// shell-adapter.mjs is the Shell adapter's way. Exits once every line has
// been handled (replies flushed).
import readline from 'node:readline'
import { Adapter, TextMessage, User } from 'hubot'

class StdinAdapter extends Adapter {
  constructor (robot) {
    super(robot)
    this.name = 'Stdin'
    this.out = []
  }

  async send (envelope, ...strings) {
    for (const s of strings) this.out.push(s)
    if (this.out.length >= 256) this.flush()
  }

  async reply (envelope, ...strings) {
    await this.send(envelope, ...strings.map((s) => `${envelope.user.name}: ${s}`))
  }

  flush () {
    if (this.out.length > 0) {
      process.stdout.write(this.out.join('\n') + '\n')
      this.out = []
    }
  }

  async run () {
    const user = new User('1', { name: process.env.USER || 'bench', room: 'stdin' })
    // Hubot loads the scripts once the adapter says it is connected.
    const loaded = new Promise((resolve) => this.robot.on('scripts have loaded', resolve))
    this.emit('connected')
    await loaded
    // Created now: lines read before the loop starts would be lost.
    const lines = readline.createInterface({ input: process.stdin, terminal: false })
    let id = 0
    for await (const line of lines) {
      if (line.length === 0) continue
      // In input order, one at a time: each message sees the ones before it.
      await this.robot.receive(new TextMessage(user, line, String(++id)))
    }
    this.flush()
    process.stdout.write('', () => process.exit(0))
  }

  close () {}
}

export default {
  use (robot) {
    return new StdinAdapter(robot)
  }
}
