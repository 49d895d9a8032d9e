"""Symbolic token count: every value of the traced graph is computed twice, with T = T1 and
T = T2 tokens, and the two results are merged. A dimension (or an int) that differs between the
runs must be c * T for one integer c: it becomes `Sym(c)` (printed `?` in MLIR types)."""

import math
from dataclasses import dataclass
from typing import Any, Tuple, Union

import torch

T1, T2 = 3, 5


class Sym:
    """c * T for the dynamic token count T (c a positive integer)."""

    __slots__ = ("coef",)

    def __init__(self, coef: int):
        self.coef = int(coef)

    def __eq__(self, other):
        return isinstance(other, Sym) and other.coef == self.coef

    def __hash__(self):
        return hash(("Sym", self.coef))

    def __repr__(self):
        return "T" if self.coef == 1 else f"{self.coef}*T"

    def at(self, t: int) -> int:
        return self.coef * t


Dim = Union[int, Sym]


@dataclass(frozen=True)
class TensorMeta:
    shape: Tuple[Dim, ...]
    dtype: torch.dtype

    @property
    def rank(self):
        return len(self.shape)


class ShapeError(ValueError):
    pass


def _merge_int(a: int, b: int, what: str) -> Dim:
    if a == b:
        return a
    if a % T1 == 0 and a // T1 > 0 and b == (a // T1) * T2:
        return Sym(a // T1)
    raise ShapeError(f"{what} is {a} with {T1} tokens and {b} with {T2}: not a multiple of the "
                     "token count (only c*T is supported for dynamic sizes)")


def merge(a: Any, b: Any, what: str = "a value") -> Any:
    """Merges the values of the two probe runs into one symbolic value."""
    if isinstance(a, torch.Tensor):
        if not isinstance(b, torch.Tensor) or a.dim() != b.dim() or a.dtype != b.dtype:
            raise ShapeError(f"{what}: rank or dtype changes with the token count")
        return TensorMeta(tuple(_merge_int(x, y, f"dimension {i} of {what}")
                                for i, (x, y) in enumerate(zip(a.shape, b.shape))), a.dtype)
    if isinstance(a, bool) or a is None or isinstance(a, (str, torch.dtype, torch.device, float)):
        if a != b and not (isinstance(a, float) and math.isnan(a) and math.isnan(b)):
            raise ShapeError(f"{what} depends on the token count ({a!r} vs {b!r})")
        return a
    if isinstance(a, int):
        return _merge_int(a, b, what)
    if isinstance(a, torch.Size):
        return tuple(merge(x, y, what) for x, y in zip(a, b))
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            raise ShapeError(f"{what}: length changes with the token count")
        out = [merge(x, y, f"{what}[{i}]") for i, (x, y) in enumerate(zip(a, b))]
        return type(a)(out) if isinstance(a, list) else tuple(out)
    if isinstance(a, dict):
        return {k: merge(a[k], b[k], f"{what}[{k!r}]") for k in a}
    return a  # opaque python objects (modules, functions, slices...) are taken from the first run


def contains_tensor(v: Any) -> bool:
    if isinstance(v, (torch.Tensor, TensorMeta)):
        return True
    if isinstance(v, (list, tuple)):
        return any(contains_tensor(x) for x in v)
    if isinstance(v, dict):
        return any(contains_tensor(x) for x in v.values())
    return False


# -- dims as (coefficient, power of T) for the reshape algebra -----------------------------------

def cp(d: Dim) -> Tuple[int, int]:
    return (d.coef, 1) if isinstance(d, Sym) else (int(d), 0)


def from_cp(c: int, p: int) -> Dim:
    if p == 0:
        return c
    if p == 1:
        return Sym(c)
    raise ShapeError(f"a size of {c}*T^{p} is not supported")


def divides(a, b) -> bool:
    return a[1] <= b[1] and a[0] != 0 and b[0] % a[0] == 0


def div(b, a):
    return (b[0] // a[0], b[1] - a[1])


def refine(a_shape, b_shape):
    """Common refinement of two shapes of the same row-major data: returns (R, groups_a, groups_b)
    with R the finest shape both are reshapes of by merging consecutive dims, or None."""
    A = [cp(d) for d in a_shape]
    B = [cp(d) for d in b_shape]
    R, ga, gb = [], [[] for _ in A], [[] for _ in B]
    i = j = 0
    a = A[0] if A else None
    b = B[0] if B else None
    one = (1, 0)
    while i < len(A) and j < len(B):
        if a == b:
            R.append(a); ga[i].append(len(R) - 1); gb[j].append(len(R) - 1)
            i += 1; j += 1
            a = A[i] if i < len(A) else None
            b = B[j] if j < len(B) else None
        elif a == one:
            R.append(one); ga[i].append(len(R) - 1); gb[j].append(len(R) - 1)
            i += 1
            a = A[i] if i < len(A) else None
        elif b == one:
            R.append(one); ga[i].append(len(R) - 1); gb[j].append(len(R) - 1)
            j += 1
            b = B[j] if j < len(B) else None
        elif divides(b, a):
            R.append(b); ga[i].append(len(R) - 1); gb[j].append(len(R) - 1)
            a = div(a, b)
            j += 1
            b = B[j] if j < len(B) else None
        elif divides(a, b):
            R.append(a); ga[i].append(len(R) - 1); gb[j].append(len(R) - 1)
            b = div(b, a)
            i += 1
            a = A[i] if i < len(A) else None
        else:
            g = (math.gcd(a[0], b[0]), min(a[1], b[1]))
            if g == one:
                return None
            R.append(g); ga[i].append(len(R) - 1); gb[j].append(len(R) - 1)
            a, b = div(a, g), div(b, g)
    while i < len(A):
        if A[i] != one or not gb:
            return None
        R.append(one); ga[i].append(len(R) - 1); gb[-1].append(len(R) - 1)
        i += 1
    while j < len(B):
        if B[j] != one or not ga:
            return None
        R.append(one); gb[j].append(len(R) - 1); ga[-1].append(len(R) - 1)
        j += 1
    if any(not g for g in ga) or any(not g for g in gb):
        return None
    return [from_cp(*r) for r in R], ga, gb
