#!/usr/bin/env python3
"""trace_pairs.py -- reduce a timeline-probe dump (kernels/src/trace.cuh) of the page-pair schedule
(MLA_V10_PAIRS, ksplit.cuh consumer_pairs) to per-pair medians.

Usage: trace_pairs.py trace-v10-cfg3.bin
Events of a pair's first page n (A0..A7) and second page n+1 (B0, B4..B7), as consumer_pairs records them;
pairs are the steady ones (pages 4 .. 59 of each traced CTA) whose events are in order.
"""
import struct, sys, statistics as st
CTAS, ROLES, PAGES, EV = 132, 3, 64, 8
raw=open(sys.argv[1],'rb').read(); w=struct.unpack(f"<{len(raw)//8}Q",raw)
t=lambda c,r,p,e: w[((c*ROLES+r)*(PAGES+1)+p)*EV+e]
names=["A0 top","A1 S(n) issued","A2 S(n+1) issued","A3 S(n) done","A4 xchg(n)","A5 P(n) written","A6 Pbar(n)","A7 PV(n) issued",
       "B0 S(n+1) done","B4 xchg(n+1)","B5 P(n+1)","B6 Pbar(n+1)","B7 PV(n+1) issued","next A0"]
for role in (0,1):
  d=[[] for _ in range(13)]; per=[]
  for c in range(CTAS):
    for p in range(4, PAGES-4, 2):
      # pair starts where page p has A-type events: detect by event2 != event3 patterns is hard; use parity of first pair
      ev=[t(c,role,p,e) for e in range(8)]; evb=[t(c,role,p+1,e) for e in range(8)]; nx=t(c,role,p+2,0)
      if not all(ev) or not all(evb) or not nx: continue
      if evb[3]-evb[0] > 200: continue
      seq=ev+[evb[0],evb[4],evb[5],evb[6],evb[7],nx]
      if any(seq[i+1]<seq[i] for i in range(len(seq)-1)): continue
      per.append(nx-ev[0])
      for i in range(13): d[i].append(seq[i+1]-seq[i])
  print(f"WG{role}: {len(per)} pairs, pair period median {st.median(per):.0f} mean {st.mean(per):.0f}")
  for i in range(13): print(f"  {names[i]:>18} -> {names[i+1]:<18} median {st.median(d[i]):6.0f} mean {st.mean(d[i]):6.0f}")
# producer
