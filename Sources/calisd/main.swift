import CLI

await CalisdMain.run()
