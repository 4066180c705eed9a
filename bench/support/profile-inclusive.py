"""
python3 bench/support/profile-inclusive.py FILE.cpuprofile [N] [URL_PART]: the top N functions by
inclusive time (self plus everything they called), each counted once per sample, with their share
of the samples; only frames whose script URL contains URL_PART when given (e.g. /src/ or /plugins/).
Says which stage a thread's time went to, where profile-summary.ts (self time) says which leaf.
"""
import json, sys, collections
p = json.load(open(sys.argv[1]))
top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
pat = sys.argv[3] if len(sys.argv) > 3 else ''
nodes = {n['id']: n for n in p['nodes']}
parent = {}
for n in p['nodes']:
    for c in n.get('children', []):
        parent[c] = n['id']
def key(n):
    cf = n['callFrame']
    url = cf['url'].split('/work/main/')[-1] if cf['url'] else ''
    return f"{cf['functionName'] or '(anonymous)'} {url}:{cf['lineNumber'] + 1}" if url else (cf['functionName'] or '(anonymous)')
incl = collections.Counter()
total = 0
for s, d in zip(p['samples'], p['timeDeltas']):
    total += d
    seen = set()
    x = s
    while x is not None:
        n = nodes[x]
        if pat in n['callFrame']['url'] or (not pat):
            k = key(n)
            if k not in seen:
                seen.add(k)
                incl[k] += d
        x = parent.get(x)
print(f"{sys.argv[1]}: {total / 1e6:.1f} s sampled")
for k, v in incl.most_common(top):
    print(f"{100 * v / total:5.1f}% {v / 1000:8.0f} ms  {k}")
