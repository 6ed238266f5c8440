"""The app's screens: the console, the kernel pickers, the pager and the confirm dialog."""
