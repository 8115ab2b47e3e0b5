from rapport.web.navigation import NavItem, register

# Every signed-in user has an account and tokens to manage.
register(NavItem("settings", "Settings", "settings:account", visible=lambda user: True))
