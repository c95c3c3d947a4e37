// Hubot's own Shell adapter (hubot/src/adapters/Shell.mjs) without the
// terminal: readline 'line' events feed robot.receive, each reply is one
// console.log. No prompt, history file or colours.
import readline from 'node:readline'
import { Adapter, TextMessage, User } from 'hubot'

class ShellLikeAdapter extends Adapter {
  constructor (robot) {
    super(robot)
    this.name = 'ShellLike'
  }

  async send (envelope, ...strings) {
    Array.from(strings).forEach(str => console.log(str))
  }

  async reply (envelope, ...strings) {
    await this.send(envelope, ...strings.map((s) => `${envelope.user.name}: ${s}`))
  }

  async run () {
    const user = new User('1', { name: process.env.USER || 'bench', room: 'stdin' })
    const loaded = new Promise((resolve) => this.robot.on('scripts have loaded', resolve))
    this.emit('connected')
    await loaded
    const rl = readline.createInterface({ input: process.stdin, terminal: false })
    let id = 0
    let pending = 0
    let ended = false
    const done = () => { if (ended && pending === 0) process.stdout.write('', () => process.exit(0)) }
    rl.on('line', async (line) => {
      const input = line.trim()
      if (input.length === 0) return
      ++pending
      await this.receive(new TextMessage(user, input, String(++id)))
      --pending
      done()
    })
    rl.on('close', () => { ended = true; done() })
  }

  close () {}
}

export default {
  use (robot) {
    return new ShellLikeAdapter(robot)
  }
}
