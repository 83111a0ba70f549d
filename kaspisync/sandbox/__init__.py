"""Emulators of the services kaspisync talks to, speaking HTTP like the real ones: Al-Style's API
(alstyle), Kaspi's Shop API (kaspi) with its content-import API (kaspi_content), and the Telegram
Bot API (telegram), with one fault vocabulary (base). `make run` starts them when no token is
set; tests use them over real sockets. Production code never imports them."""
