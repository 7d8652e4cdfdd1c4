#!/usr/bin/python3
"""Oracle for the Calculate plugin (spec 7.3): evaluates expressions with real Python
(eval, ^ replaced by **, a restricted namespace of math functions) and writes the committed fixtures
  tests/fixtures/plugins/calc_cases.json  - generated + hand-picked expressions -> str(value) or null
  tests/fixtures/plugins/calc_sft.json    - every Calculate argument of the SFT data -> Python's answer
A value is printed only when eval returns an int or a float; anything else (tuple, bool, complex,
exceptions, ints over 4300 digits) is null, which the plugin prints as 'No result.'.
Run with /usr/bin/python3 (3.11: int<->str limit of 4300 digits) from the repository root."""
import json, math, os, random, re, signal

# The namespace the C++ calculator implements; pow is math.pow (float), as it would be after
# `from math import *`, the builtins abs/max/min/round stay Python's.
NAMES = {n: getattr(math, n) for n in (
    'sqrt', 'pow', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'log', 'log10', 'log2', 'exp',
    'ceil', 'floor', 'fabs', 'pi', 'e')}
NAMES.update(abs=abs, max=max, min=min, round=round)


def py_eval(expr):
    """str(eval(...)) in a forked child with a 5 s limit: `9**9**9**9` would run for ever, and the
    answer for such a power is None anyway (its result could not be printed)."""
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rd)
        signal.alarm(5)
        os.write(wr, json.dumps(_eval_in_child(expr)).encode())
        os._exit(0)
    os.close(wr)
    data = b''
    while chunk := os.read(rd, 65536):
        data += chunk
    os.close(rd)
    os.waitpid(pid, 0)
    return json.loads(data) if data else None


def _eval_in_child(expr):
    if len(expr) > 4096:
        return None
    try:
        v = eval(expr.replace('^', '**'), {'__builtins__': {}}, dict(NAMES))
    except Exception:  # SyntaxError, ZeroDivisionError, OverflowError, ValueError, TypeError...
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        return str(v)
    except ValueError:  # int too large to print (Python 3.11 limit)
        return None


def rand_num(r):
    k = r.random()
    if k < 0.45:
        return str(r.choice([0, 1, 2, 3, 5, 7, 10, 12, 100, 255, 1000, 12345, 99999999]))
    if k < 0.6:
        return str(r.randint(0, 10**r.randint(1, 30)))
    if k < 0.85:
        return r.choice(['0.5', '1.5', '3.14', '0.1', '0.2', '2.5', '1e5', '3.33e8', '1e-7', '.5',
                         '7.', '1e16', '1e15', '123.456', '0.0', '2.0', '1e308', '5e-324'])
    return r.choice(['pi', 'e'])


def rand_expr(r, depth=0):
    k = r.random()
    if depth > 3 or k < 0.25:
        return rand_num(r)
    if k < 0.6:
        op = r.choice(['+', '-', '*', '/', '//', '%', '**', '^', '*', '+', '-', '/'])
        a, b = rand_expr(r, depth + 1), rand_expr(r, depth + 1)
        if op in ('**', '^'):
            b = r.choice(['2', '3', '0.5', '-1', '-2', '10', '1/3', '(1/2)', '0', '100', b])
        return f'{a}{op}{b}' if r.random() < 0.5 else f'({a}) {op} ({b})'
    if k < 0.7:
        return r.choice(['-', '+', '-']) + rand_expr(r, depth + 1)
    f = r.choice(['sqrt', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'log', 'log10', 'log2',
                  'exp', 'ceil', 'floor', 'abs', 'fabs', 'round', 'pow', 'max', 'min', 'log', 'round'])
    if f in ('pow', 'max', 'min'):
        return f'{f}({rand_expr(r, depth + 1)}, {rand_expr(r, depth + 1)})'
    if f in ('round', 'log') and r.random() < 0.5:
        return f'{f}({rand_expr(r, depth + 1)}, {r.choice(["2", "0", "-1", "3", "10", "1"])})'
    return f'{f}({rand_expr(r, depth + 1)})'


HAND = [
    '1+1', '8*4+3', '-7-35*4', 'pi*3^2*20', '3/7', '2**10', '2^-1', '-2**2', '(-2)**2', '2**3**2',
    '2^3^2', '-2^0.5', '(-8)**(1/3)', '0**0', '0.0**0', '0**-1', '0.0**-1.0', '1/0', '1//0', '1%0',
    '1.0/0', '7//2', '-7//2', '7//-2', '-7%3', '7%-3', '-7.5//2', '7.5%-2', '-0.0', '0.0*-1',
    '1e16', '1e15', '1.5e-05', '0.0001', '0.00001', '123456789012345678', '1e22', '1e308*10',
    '1e308*10-1e308*10', '10**400', '10.0**400', '2**0.5', '10**-2', '5e-324', '5e-324/2', '1e-320',
    '9**9**9**9', '2**100000', '2**14285', '2**14290', '10**4300', '10**4299', '-(10**4299)',
    'sqrt(-1)', 'sqrt(16)', 'sqrt(2)', 'log(0)', 'log(-1)', 'log(8,2)', 'log(100,10)', 'log(10**400)',
    'log(1, 1)', 'exp(1000)', 'exp(-1000)', 'acos(2)', 'asin(1)', 'ceil(2.1)', 'floor(-2.1)',
    'ceil(1e300)', 'floor(5)', 'ceil(-0.5)', 'round(2.5)', 'round(3.5)', 'round(-2.5)', 'round(2.675, 2)',
    'round(1234, -2)', 'round(1250, -2)', 'round(1350, -2)', 'round(0.5)', 'round(1.5, 0)',
    'round(12345.678, -2)', 'abs(-3)', 'abs(-3.5)', 'max(1, 2.0)', 'max(2, 2.0)', 'max(2.0, 2)',
    'min(3, 1, 2)', 'max(1)', 'pow(2, 10)', 'pow(2, 0.5)', 'pow(-8, 1/3)', 'pow(0, -1)', 'pow(10, 400)',
    'fabs(-2)', 'sin(pi)', 'cos(0)', 'tan(pi/4)', 'atan(1)*4', 'sin(1e300)', 'sin(10**400)',
    '3.33e8*0.185', '1 + 2 * 3', '(1 + 2) * 3', '((((1))))', '1 +', '', '   ', '1 2', '2x', 'x+1',
    '1 == 1', '1 < 2', '5!', 'a=1', '"1"', '1,2', '(1,2)', '012', '00', '0', '1_000', '1.5.2', '1e',
    '5j', 'sqrt', 'sqrt(1,2)', 'max()', 'round()', 'CubeRoot(12)', '[1]', '1;2', '3.0', '-0',
    '1 - - 1', '- - 1', '+ 1', '2 ** -1', '2 ** - 2', '-3 ** 2', '4 ** 0.5 ** 2', '1e309', '-1e309',
    '1e-400', '10/3', '2/3', '1/3*3', '0.1+0.2', '1e23', '9007199254740993/1', '9007199254740993 + 0.0',
    '10**30/7', '10**400/10**399', '10**400/3', '10**400*1.0', '(10**20)//3', '-(10**20)%7',
    '2 ** 64', '-2 ** 63', '12345678901234567890 * 98765432109876543210', '1/3+1/3', '100 // 7.0',
    '100.0 % 7', '-100.5 % 7', 'e', 'pi', 'e**2', 'tan(pi/2)', 'log2(1024)', 'log10(1000)',
    'log10(0.001)', 'round(-0.5)', 'round(1e300)', 'round(2.5, 0)', 'round(0.125, 2)', 'round(0.375, 2)',
    'round(5, 2)', 'round(1.23456789, 4)', 'round(123.456, -1)', 'max(-0.0, 0)', 'min(0, -0.0)',
    'abs(-0.0)', 'ceil(-0.0)', 'floor(1e16+0.5)', 'int(3)', 'float(3)', 'exp(1)', 'sqrt(2)**2',
    '((1+2)*(3+4))^2', '0b01101000', '0x_ff', '0o17', '0b2', '0x', '1__0', '1_', '1_0.5_5', '1e1_0',
    '0B11 + 0XfF', '00_0', '1e+_5', '1.0e10', '1E5', '1e+5', '1e-5', '.5e1', '7.e1',
    # exponents beyond a long (a libFuzzer find: the overflow/underflow decision overflowed)
    '13e' + '8' * 48 + '1', '13e-' + '8' * 48, '0.0e' + '9' * 40, '1e' + '9' * 30 + '-1e' + '9' * 30,
]


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = random.Random(20240531)
    exprs = list(HAND)
    seen = set(exprs)
    while len(exprs) < 700:
        x = rand_expr(r)
        if x not in seen:
            seen.add(x)
            exprs.append(x)
    cases = [[x, py_eval(x)] for x in exprs]
    out = os.path.join(root, 'tests/fixtures/plugins')
    with open(os.path.join(out, 'calc_cases.json'), 'w') as f:
        f.write('[\n' + ',\n'.join(json.dumps(c, ensure_ascii=False) for c in cases) + '\n]\n')
    # Python's answer for every Calculate argument of the SFT data (calculator + mix).
    shared = os.environ.get('MOSS_SHARED_DIR', os.path.join(root, '../shared'))
    base = os.path.join(shared, 'data/moss-003-sft/conversations/conversation_with_plugins')
    sft = {}
    for sub in ('calculator', 'mix'):
        for fn in sorted(os.listdir(os.path.join(base, sub))):
            with open(os.path.join(base, sub, fn)) as f:
                conv = json.load(f)
            for turn in conv['chat'].values():
                for m in re.finditer(r'^Calculate\("(.*)"\) => ', turn['Tool Responses'], re.M):
                    sft[m.group(1)] = py_eval(m.group(1))
    with open(os.path.join(out, 'calc_sft.json'), 'w') as f:
        f.write('{\n' + ',\n'.join(json.dumps(k, ensure_ascii=False) + ': ' + json.dumps(v)
                                   for k, v in sorted(sft.items())) + '\n}\n')
    ok = sum(v is not None for _, v in cases)
    print(f'{len(cases)} cases ({ok} with a value), {len(sft)} distinct SFT expressions')


if __name__ == '__main__':
    main()
