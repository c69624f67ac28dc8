import VfioctlCommands

Vfioctl.runAndExit()
