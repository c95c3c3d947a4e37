// Answers `whoami` the way opsgate's shell does: who you are, from the adapter.
export default (robot) => {
  robot.hear(/^whoami$/i, async (res) => {
    await res.send(`You are stdin:${res.message.user.name} (${res.message.user.name}), in no platform groups.`)
  })
}
