"""A linearizability checker for one compare-and-set register, in the manner of
Wing & Gong (with Lowe's memoisation, as Knossos does): it searches for an order of
the operations that respects real time (an operation that returned before another
was invoked comes first) and that a sequential register would answer the same way.

An operation is a dict: `call` and `ret` (monotonic seconds; `ret` is None for an
operation whose outcome is unknown, such as a timed-out CAS, which may take effect
at any point after its call or never), `kind` ("read", "cas"), and:
- read: `value` (what it returned);
- cas: `old`, `new`, `applied` (bool, or None when unknown), and when not applied
  `current` (the value the server reported, or None when it reported none).
"""

import math


def _step(state, op):
    """(ok, next state) of applying `op` to a register holding `state`."""
    if op["kind"] == "read":
        return state == op["value"], state
    if op["applied"] is None:
        # Unknown: only worth placing when it changes the register.
        return state == op["old"], op["new"]
    if op["applied"]:
        return state == op["old"], op["new"]
    return state != op["old"] and state == op.get("current", state), state


def is_linearizable(ops, initial):
    """Whether the history `ops` of a register starting at `initial` is linearizable."""
    ops = sorted(ops, key=lambda o: o["call"])
    n = len(ops)
    returns = [math.inf if o["ret"] is None else o["ret"] for o in ops]
    calls = [o["call"] for o in ops]
    must = 0
    for i, o in enumerate(ops):
        if o["ret"] is not None:
            must |= 1 << i
    seen = set()
    stack = [(0, initial)]
    while stack:
        done, state = stack.pop()
        if done & must == must:
            return True
        if (done, state) in seen:
            continue
        seen.add((done, state))
        pending = [i for i in range(n) if not done >> i & 1]
        first_return = min(returns[i] for i in pending)
        for i in pending:
            if calls[i] > first_return:
                break
            ok, nxt = _step(state, ops[i])
            if ok:
                stack.append((done | 1 << i, nxt))
    return False
