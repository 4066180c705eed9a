"""
python3 bench/support/profile-callers.py FILE.cpuprofile URL_PART: the frames whose script URL
contains URL_PART, with their self time and their caller chain (7 frames up), heaviest first.
For native calls (better-sqlite3) the self time lands on the JS frame that called them, so this
says which statement site the time went to.
"""
import json,sys,collections
p=json.load(open(sys.argv[1])); pat=sys.argv[2]
nodes={n['id']:n for n in p['nodes']}
parent={}
for n in p['nodes']:
    for c in n.get('children',[]): parent[c]=n['id']
selfc=collections.Counter(p['samples'])
dt=collections.Counter()
for s,d in zip(p['samples'],p['timeDeltas']): dt[s]+=d
agg=collections.Counter()
for nid,n in nodes.items():
    cf=n['callFrame']
    if pat in cf['url'] and dt[nid]>0:
        chain=[]; x=parent.get(nid)
        while x is not None and len(chain)<7:
            f=nodes[x]['callFrame']; chain.append(f"{f['functionName'] or '?'}:{f['url'].split('/')[-1]}:{f['lineNumber']+1}"); x=parent.get(x)
        agg[(cf['functionName'],cf['columnNumber'],' < '.join(chain))]+=dt[nid]
for k,v in agg.most_common(12): print(round(v/1000),'ms',k)
