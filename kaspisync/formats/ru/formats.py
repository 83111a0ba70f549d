"""Russian date formats where Django's differ from how a date reads in a sentence: a day with its
month takes the genitive ("1 декабря", not "1 Декабрь"), as in the date hierarchy's links."""

MONTH_DAY_FORMAT = "j E"
