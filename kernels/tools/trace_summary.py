#!/usr/bin/env python3
"""trace_summary.py -- reduce a timeline-probe dump (src/trace.cuh) to per-phase numbers.

Usage: trace_summary.py trace-v8-cfg3.bin [names]
  names: comma-separated labels of the consumer events 0..7 (the kernel's tr(k) points).
Prints the SM clock (clock64 against %globaltimer), the median page period and, per
consumer warpgroup, the median and mean cycles between consecutive events, over the
steady pages (4 .. last-2) of every traced CTA; then the producer's stage-free time
relative to the consumers' events.
"""
import struct, sys, statistics as st

CTAS, ROLES, PAGES, EV = 132, 3, 64, 8


def load(path):
    raw = open(path, "rb").read()
    n = len(raw) // 8
    assert n == CTAS * ROLES * (PAGES + 1) * EV, f"{path}: {n} words, expected {CTAS * ROLES * (PAGES + 1) * EV}"
    w = struct.unpack(f"<{n}Q", raw)
    return lambda c, r, p, e: w[((c * ROLES + r) * (PAGES + 1) + p) * EV + e]


def main():
    path = sys.argv[1]
    names = sys.argv[2].split(",") if len(sys.argv) > 2 else [f"e{i}" for i in range(EV)]
    t = load(path)
    ghz = []
    for c in range(CTAS):
        c0, g0, c1, g1 = (t(c, 0, PAGES, e) for e in range(4))
        if c1 > c0 and g1 > g0:
            ghz.append((c1 - c0) / (g1 - g0))
    if not ghz:
        print("no traced CTAs"); return
    print(f"{path}: {len(ghz)} CTAs; SM clock {st.median(ghz):.3f} GHz (median; min {min(ghz):.3f}, max {max(ghz):.3f})")
    for role in (0, 1):
        period, deltas = [], [[] for _ in range(EV)]
        for c in range(CTAS):
            pages = [p for p in range(PAGES) if all(t(c, role, p, e) for e in range(EV))]
            for p in pages[4:-2]:
                if p + 1 in pages:
                    period.append(t(c, role, p + 1, 0) - t(c, role, p, 0))
                    for e in range(EV - 1):
                        deltas[e].append(t(c, role, p, e + 1) - t(c, role, p, e))
                    deltas[EV - 1].append(t(c, role, p + 1, 0) - t(c, role, p, EV - 1))
        if not period:
            continue
        print(f"\nconsumer warpgroup {role}: {len(period)} steady pages, period median {st.median(period):.0f} "
              f"mean {st.mean(period):.0f} cycles")
        for e in range(EV):
            a, b = names[e], names[(e + 1) % EV]
            print(f"  {a:>10} -> {b:<10} median {st.median(deltas[e]):7.0f}  mean {st.mean(deltas[e]):7.0f}  "
                  f"p90 {sorted(deltas[e])[int(0.9 * len(deltas[e]))]:7.0f}")
    # producer: stage free for page p (event 0) relative to consumer WG0's events of page p-2 / p
    rel_free, rel_lead = [], []
    for c in range(CTAS):
        for p in range(6, PAGES - 2):
            f = t(c, 2, p, 0)
            if not f or not all(t(c, 0, q, e) for q in (p - 2, p - 1, p) for e in range(EV)):
                continue
            rel_free.append(f - t(c, 0, p - 1, 3))   # after WG0's wait of the page before (its release point)
            rel_lead.append(t(c, 0, p, 1) - f)       # from stage free to WG0's first slab of page p ready
    if rel_free:
        print(f"\nproducer: stage of page p free, cycles after WG0's wait of page p-1: median {st.median(rel_free):.0f}")
        print(f"          stage free -> WG0 has slab 0 of page p: median {st.median(rel_lead):.0f}, "
              f"p10 {sorted(rel_lead)[len(rel_lead) // 10]:.0f}, p90 {sorted(rel_lead)[9 * len(rel_lead) // 10]:.0f}")


if __name__ == "__main__":
    main()
