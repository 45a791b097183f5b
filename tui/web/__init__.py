"""``monitor serve``'s web server (:mod:`tui.web.server`), its rules (:mod:`tui.web.policy`),
its page and the page's own style and script (docs/station.md, "Remote review in a browser")."""
