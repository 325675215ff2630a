"""The interpreter's settings in a server process (`yibao serve`; main.py): the garbage
collector and the interval of the interpreter lock's hand-over.

**The collector.**
A server process holds about 150,000 objects that live as long as it does: the imported
modules, the application and its routes, the pools, the policies and catalogue once
read. CPython's collector walks every one of them in each full (generation 2)
collection: 90–240 ms on the benchmark's machine, during which neither the event loop
nor the committer threads run a line of Python, and every settlement in flight waits
(bench/settle_http.py: 5 such pauses in 15 s made the p99 of 300 ms). `gc.freeze()`
after start-up moves them to a generation the collector never walks; what the process
allocates afterwards is collected as before (reference counting frees almost all of it;
the collector only finds cycles).

The youngest generation is collected every `gc_young` allocations (700 by default in
CPython): a settlement allocates some thousands of objects, most gone when it is
answered. Collected every 700, the ones still alive (the batch's, the request's) are
walked and promoted to the older generations, whose collections they then lengthen; a
larger threshold lets most die young and halves the collector's work (docs/operations.md).

**The lock's interval.** A process's event loop and its committer threads share one
interpreter lock. A thread that waited for PostgreSQL's answer (the lock released) needs
the lock back to read it; while another thread computes, it gets it only when that
thread's interval runs out, 5 ms by CPython's default, and a batch makes several round
trips a bill. A shorter interval hands the lock over sooner, for a few more switches.
"""

from __future__ import annotations

import gc
import sys
from typing import Any

from yibao.settings import Settings


def tune_runtime(settings: Settings, app: Any = None) -> None:
    """Freeze what start-up made (the application's routes built first, when given; after
    a full collection, so that no garbage cycle of start-up is kept for ever), set the
    youngest generation's threshold and the lock's interval."""
    sys.setswitchinterval(settings.switch_interval_ms / 1000)
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(settings.gc_young, older, oldest)
    if settings.gc_freeze:
        if app is not None:
            build_routes(app)
        gc.collect()
        gc.freeze()


def build_routes(app: Any) -> None:
    """What FastAPI builds of the routes at the first request that goes through the
    router, built now. FastAPI (0.16x) makes each included router's routes in their
    effective form (its prefix, dependencies and responses merged in: the route contexts,
    the models' validators) when a request first looks through that router: ~22,000
    objects for yibao's routers, made at the first /healthz or page of each worker,
    while it serves, then found alive by the young collection (a 6 ms one at the end of
    a run) and walked again by every older one. Built before the freeze, they are
    frozen with the rest of start-up. Through FastAPI's own methods, where they are
    (another version without them: nothing is built here, and the first request does)."""
    for route in getattr(getattr(app, "router", None), "routes", ()):
        for build in ("effective_route_contexts", "effective_low_priority_routes"):
            made = getattr(route, build, None)
            if callable(made):
                for _ in made():
                    pass
