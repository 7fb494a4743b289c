"""The parts of Gaby's one settings module (``gaby_site/settings.py``) that read nothing.

``settings.py`` reads every environment variable; the modules here hold what does not depend on them (the app
lists, the middleware, the content security policy, Celery's fixed options) and the functions that build
the larger settings (databases, cache, channel layer, beat schedule) from the values ``settings.py`` read.
Nothing here reads the environment, touches the disk or starts anything; only ``settings.py`` imports them.
"""
