"""The alerts the built-in catalogue must report for what gen.py injects.

gen.py counts what it injects (episodes, events); a detection reports alerts,
which are not the same thing: a detection without `group by` raises one alert
per resource (instance, principal) however many records match, and a windowed
detection raises one alert per group per episode, so two scans of one host by
one scanner less than a window apart are one alert, and a brute force cut
short by the end of the file (fewer records than the threshold) is none.
This module applies the detections' semantics (src/detect/window.rs) to the
records gen.py tracked, so the manifest can say exactly how many alerts each
detection must give.

Windowed semantics: records of a group sorted by (time, order); at each record
the window holds `t - window < time <= t`; an alert opens an episode when the
threshold holds and none is open; an episode ends when two consecutive records
are a whole window apart or more.
"""

from collections import Counter


def episodes(records, window, threshold, distinct=False):
    """Alerts of one group. `records`: (time, order, value) tuples; `threshold`:
    the smallest count (or distinct count of `value`) that alerts."""
    records = sorted(records)
    alerts = 0
    open_ = False
    prev = None
    start = 0
    seen = Counter()
    for i, (t, _, v) in enumerate(records):
        if prev is not None and t - prev >= window:
            open_ = False
        prev = t
        seen[v] += 1
        while records[start][0] <= t - window:
            old = records[start][2]
            seen[old] -= 1
            if not seen[old]:
                del seen[old]
            start += 1
        size = len(seen) if distinct else i - start + 1
        if not open_ and size >= threshold:
            alerts += 1
            open_ = True
    return alerts


def windowed(groups, window, threshold, keep, value=None, distinct=False):
    """Alerts over all tracked groups: `groups` maps a group key to records
    (time, order, *fields); `keep(record)` is the detection's `where`;
    `value(record)` what it counts distinct."""
    total = 0
    for recs in groups.values():
        sel = [(r[0], r[1], value(r) if value else None) for r in recs if keep(r)]
        if sel:
            total += episodes(sel, window, threshold, distinct)
    return total
