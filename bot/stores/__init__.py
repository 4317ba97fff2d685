"""All Redis access, one small store per aggregate.

No other module imports ``redis``: everything that reads or writes shared state goes
through a store here, under keys built in ``bot.stores.keys``, each with a TTL.
"""
