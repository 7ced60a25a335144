"""The reference's random draws, as CPython 3.11's `random.Random` makes them.

create_pretraining_data's output depends on every number its shared
`random.Random` hands out (SPEC 5.3). `randbelow` and `shuffle` are inlined
from `getrandbits` exactly as CPython 3.11 computes `_randbelow` and
`shuffle`, so the outputs do not depend on how a later CPython spells them.
"""


def randbelow(getrandbits, n):
    """CPython 3.11's `Random._randbelow(n)`, from a bound `getrandbits`.

    `randint(a, b)` is `a + randbelow(getrandbits, b - a + 1)`.
    """
    k = n.bit_length()
    r = getrandbits(k)
    while r >= n:
        r = getrandbits(k)
    return r


# Bit lengths of small n, looked up instead of computed in `shuffle`'s loop.
_BIT_LENGTHS = [n.bit_length() for n in range(1025)]


def shuffle(x, rng):
    """`rng.shuffle(x)` as CPython 3.11 does it (same draws, same result)."""
    getrandbits = rng.getrandbits
    n = len(x)
    if n < len(_BIT_LENGTHS):
        # j > i is j >= i + 1 = n for this step: the redraw of _randbelow.
        for i, k in zip(range(n - 1, 0, -1), _BIT_LENGTHS[n:1:-1]):
            j = getrandbits(k)
            while j > i:
                j = getrandbits(k)
            x[i], x[j] = x[j], x[i]
        return
    for i in range(n - 1, 0, -1):
        k = (i + 1).bit_length()
        j = getrandbits(k)
        while j > i:
            j = getrandbits(k)
        x[i], x[j] = x[j], x[i]
