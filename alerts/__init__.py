"""alerts: tell staff what needs them (orders waiting for acceptance, failed or late jobs, price-list
and card problems, the daily summary) on Telegram and by e-mail, through an outbox other apps fill
with `alerts.services.notify` inside their own transaction. Imports no other app."""
