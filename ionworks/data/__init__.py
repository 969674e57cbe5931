"""The battery-data core: column names, checks, steps and cycles, on polars frames.

Pure by design: nothing here speaks HTTP, touches the cache or knows the server, and nothing here
imports the rest of :mod:`ionworks`. The client, the DataLoader, the plots and the local server's
processing all use these modules, so every data rule exists once.
"""

from __future__ import annotations
