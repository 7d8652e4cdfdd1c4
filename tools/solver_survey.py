#!/usr/bin/python3
"""Survey and oracle for the Solve plugin (spec 7.4).

Model of the data's solver (what src/plugins/solver.cpp implements): split at ';' and ','; keep
parts with '='; rewrite ^ -> ** and implicit multiplication (digit before a name, ')' before a name
or '('); evaluate each side with Python, names being SymPy symbols and sqrt/sin/cos/tan/exp/log/
pi/e Python's math ones; sympy.solve(equations, dict=True); print one solution as `x = v` per
symbol (sorted), several solutions of one symbol as `x_i = v`; anything else 'No result.'.

  /usr/bin/python3 tools/solver_survey.py            # agreement of the model with the SFT data
  /usr/bin/python3 tools/solver_survey.py --fixture  # also writes tests/fixtures/plugins/solver_cases.json
The fixture holds generated equations with SymPy 1.11's answers, restricted to answers whose
values are the forms the C++ solver prints exactly (rationals, p + q*sqrt(n), Floats)."""
import json, math, os, random, re, signal, sys

import sympy

FUNCS = ('sqrt', 'cos', 'sin', 'tan', 'pi', 'e', 'exp', 'log')


def prep(s):
    s = s.replace('^', '**')
    s = re.sub(r'(\d)\s*([A-Za-z_])', r'\1*\2', s)
    s = re.sub(r'\)\s*([A-Za-z_(])', r')*\1', s)
    return s


def model(arg):
    parts = [p for p in re.split(r'[;,]', arg) if p.strip()]
    syms = {}

    class NS(dict):
        def __missing__(self, k):
            if k in FUNCS:
                return getattr(math, k)
            syms.setdefault(k, sympy.Symbol(k))
            return syms[k]
    eqs = []
    for p in parts:
        p = prep(p)
        if '=' in p:
            l, r = p.split('=', 1)
            L = eval(l, {'__builtins__': {}}, NS())
            R = eval(r, {'__builtins__': {}}, NS())
            eqs.append(sympy.sympify(L) - sympy.sympify(R))
    if not eqs:
        return ['No result.']
    free = set().union(*[e.free_symbols for e in eqs])
    sol = sympy.solve(eqs, dict=True)
    if not sol or any(v.free_symbols for s in sol for v in s.values()):
        return ['No result.']
    if len(sol) == 1:
        s = sol[0]
        if set(s) != free:
            return ['No result.']
        return [f'{k} = {v}' for k, v in sorted(s.items(), key=lambda kv: str(kv[0]))]
    if len(free) == 1 and all(len(s) == 1 for s in sol):
        k = list(free)[0]
        return [f'{k}_{i} = {s[k]}' for i, s in enumerate(sol)]
    return ['No result.']


def run_model(arg, seconds=20):
    """model(arg) in a forked child with a time limit (SymPy can take very long)."""
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rd)
        signal.alarm(seconds)
        try:
            out = model(arg)
        except Exception:
            out = ['No result.']
        os.write(wr, json.dumps(out).encode())
        os._exit(0)
    os.close(wr)
    data = b''
    while chunk := os.read(rd, 65536):
        data += chunk
    os.close(rd)
    os.waitpid(pid, 0)
    return json.loads(data) if data else None


def sft_blocks(shared):
    base = os.path.join(shared, 'data/moss-003-sft/conversations/conversation_with_plugins')
    for sub in ('equation_solver', 'mix'):
        for fn in sorted(os.listdir(os.path.join(base, sub))):
            with open(os.path.join(base, sub, fn)) as f:
                conv = json.load(f)
            for turn in conv['chat'].values():
                cur = None
                for line in turn['Tool Responses'].split('\n'):
                    m = re.match(r'^Solve\("(.*)"\)(.*) =>$', line)
                    if m:
                        if cur:
                            yield cur
                        cur = (m.group(1), [])
                    elif line.startswith(('Search(', 'Calculate(', '<')):
                        if cur:
                            yield cur
                        cur = None
                    elif cur:
                        cur[1].append(line)
                if cur:
                    yield cur


VALUE = re.compile(r'^-?(\d+(/\d+)?|(\d+\*)?sqrt\(\d+\)(\*I)?(/\d+)?|(\d+\*)?I(/\d+)?|[-\d.e+]+(\*I)?)$')


def simple_values(lines):
    for l in lines:
        if l == 'No result.':
            continue
        v = l.split(' = ', 1)[1]
        for t in re.split(r' [-+] ', v):
            if not VALUE.match(t):
                return False
    return True


def generate(r):
    c = lambda lo=-9, hi=9: r.choice([k for k in range(lo, hi + 1) if k])
    k = r.randrange(9)
    if k == 0:
        return f'{c()}x+{c(0, 20)}={c()}'
    if k == 1:
        return f'x/{c(2, 9)}+{c()}={r.choice([c(), "x/" + str(c(2, 5))])}'
    if k == 2:
        return f'{c()}/{c(2, 9)}*x={c()}' if r.random() < 0.5 else f'{r.choice(["0.25", "1.5", "0.1", "2.4"])}x+{c()}={c()}'
    if k == 3:
        sep = r.choice([';', ', ', '; '])
        return sep.join(f'{c()}x+{c()}y={c(-30, 30)}' for _ in range(2))
    if k == 4:
        return ';'.join(f'{c()}a+{c()}b+{c()}c={c(-30, 30)}' for _ in range(3))
    if k == 5:
        return f'{c(1, 4)}x^2+{c(-6, 6)}x+{c()}=0'.replace('+-', '-')
    if k == 6:
        return r.choice([f'(x+{c()})^2={c(1, 50)}', f'{c(1, 5)}*x^2={c(-40, 40)}', f'x^4={c(1, 900)}',
                         f'x^3={r.choice([8, 27, -8, 64, 125])}'])
    if k == 7:
        return r.choice([f'x^2+{r.choice(["0.5", "1.5", "2.0"])}x={c()}', f'x^3={r.choice(["2.5", "10.0", "0.3"])}',
                         f'{r.choice(["3.5", "0.2"])}*x^2={c(1, 30)}'])
    return r.choice([f'(x-{c()})*(x^2+{c(1, 9)})=0', f'x/(x-{c(1, 5)})={c()}', f'1/x+1/(x+{c(1, 4)})=1',
                     f'(x^2-{c(1, 9)})*(x^2+{c(1, 9)}x+{c(1, 9)})=0'])


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shared = os.environ.get('MOSS_SHARED_DIR', os.path.join(root, '../shared'))
    total = same = 0
    for arg, want in sft_blocks(shared):
        got = run_model(arg)
        total += 1
        same += got == want
        if got != want:
            print(f'differs: Solve("{arg}"): data {want}, model {got}')
    print(f'model reproduces {same} / {total} SFT Solve blocks')
    if '--fixture' in sys.argv:
        r = random.Random(20240601)
        cases, seen = [], set()
        while len(cases) < 150:
            eq = generate(r)
            if eq in seen:
                continue
            seen.add(eq)
            out = run_model(eq)
            if out is None or not simple_values(out):
                continue
            cases.append([eq, out])
        path = os.path.join(root, 'tests/fixtures/plugins/solver_cases.json')
        with open(path, 'w') as f:
            f.write('[\n' + ',\n'.join(json.dumps(c) for c in cases) + '\n]\n')
        print(f'wrote {len(cases)} cases to {path}')


if __name__ == '__main__':
    main()
