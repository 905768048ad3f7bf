"""Time of one continuous-batching iteration of one replica, at a clock bin (DESIGN §4.1, §4.4).

A mixed batch holds prefill chunks and decoding sequences. Every operator of `arch.ops.forward_ops`
has FLOPs and bytes affine in (tokens, sequences, query·key pairs, Σ keys read) — plus, for MoE, a
term in the expected distinct experts hit, which is evaluated exactly per call. The coefficients are
recovered once from `forward_ops` on a few basis batches (so this module cannot drift from the
simulator's arithmetic); a call multiplies them by the batch's variables and sums per operator.

Operators whose formula differs between prefill and decode (MLA's absorbed decode path) become two
operators, each launched only when its phase is in the batch; the others run once over all tokens.

Communication: two tensor-parallel all-reduces of the activations per layer over NVLink, and for
pp > 1 a send/recv of the activations at each of the pp − 1 stage boundaries over InfiniBand.
Pipeline model: one batch in flight; it walks the stages in turn, so the iteration takes the sum of
the stage times plus the transfers and each GPU idles (pp − 1)/pp of it (the bubble). vLLM fills the
bubble with pp concurrent batches ("virtual engines"); that is not modelled.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache, partial

import numpy as np

from gigawatt.arch.kv import BYTES_PER_ELEMENT
from gigawatt.arch.ops import Batch, expected_experts_hit, forward_ops
from gigawatt.arch.spec import ModelSpec
from gigawatt.catalog import GpuSpec
from gigawatt.hardware.collectives import (
    INFINIBAND_SAME_LEAF,
    nvlink_link,
    ring_all_reduce_time,
    send_recv_time,
)
from gigawatt.hardware.roofline import Efficiency, compute_efficiency, efficiency

# Basis variables of an operator's FLOPs and bytes: constant, tokens, sequences, pairs, keys read,
# expected distinct routed experts hit.
_N_VARS = 6
_PHASES = ("shared", "prefill", "decode")
# Precision of the activations exchanged between GPUs, by the serving precision.
COMMUNICATION_PRECISION = {"bf16": "bf16", "fp16": "fp16", "fp8": "bf16"}


def _prefill_basis(hits: Callable[[float], float]) -> list[tuple[Batch, list[float]]]:
    """Pure-prefill batches (offset 0: query_len == context) and their basis variables."""
    points = [(1, 1, 1), (2, 1, 1), (3, 1, 1), (1, 2, 1), (1, 1, 2), (1, 1, 3), (2, 2, 2), (5, 3, 4)]
    return [(Batch(t, s, q, q), [1.0, t, s, s * q * (q + 1) / 2.0, s * q, hits(t)]) for t, s, q in points]


def _decode_basis(hits: Callable[[float], float]) -> list[tuple[Batch, list[float]]]:
    """Decode batches (query_len < context) and their basis variables; q = 2 separates pairs from keys."""
    points = [
        (1, 1, 1, 4),
        (2, 1, 1, 4),
        (3, 1, 1, 4),
        (1, 2, 1, 4),
        (1, 1, 1, 7),
        (1, 1, 2, 5),
        (4, 3, 2, 9),
    ]
    return [(Batch(t, s, q, c), [1.0, t, s, s * q * c, s * c, hits(t)]) for t, s, q, c in points]


class IterationModel:
    """Iteration time of one replica of `tp` × `pp` GPUs at each clock bin of `clocks` (MHz)."""

    def __init__(
        self,
        model: ModelSpec,
        gpu: GpuSpec,
        tp: int,
        pp: int,
        precision: str,
        clocks: np.ndarray,
        gpus_per_node: int,
        eff: Efficiency | None = None,
    ) -> None:
        self.model, self.gpu, self.tp, self.pp, self.precision = model, gpu, tp, pp, precision
        self.clocks = np.asarray(clocks, dtype=float)
        eff = eff or efficiency(gpu.name)
        self._overlap_p = eff.overlap_p
        self._moe = model.moe_layers > 0
        self._experts = (model.ffn.top_k, model.ffn.routed_experts)

        flops, traffic, count, phase = _fit(model, tp, precision, self._hits)
        # Fold each operator's count in before the roofline: the p-norm is homogeneous of degree 1.
        # Columns: 6 basis variables of the whole batch, then of its prefill part, then of its decode part.
        blocks = np.zeros((len(count), len(_PHASES) * _N_VARS, 2))
        for i, p in enumerate(phase):
            cols = slice(p * _N_VARS, (p + 1) * _N_VARS)
            blocks[i, cols, 0] = count[i] * flops[i]
            blocks[i, cols, 1] = count[i] * traffic[i]
        # Compute time per FLOP at each clock bin (roofline.op_times), memory time per byte. Kept per
        # phase mix (prefill?, decode?) with only the operators that run, so every row has work.
        eta_c = compute_efficiency(eff, gpu.name, precision)
        self._seconds_per_flop = 1.0 / (eta_c * gpu.peak_flops(precision) * self.clocks / gpu.clock_boost)
        memory = blocks[:, :, 1] / (eff.memory * gpu.hbm_bandwidth)
        # Per phase mix, [FLOPs, bytes] × operator that runs × variable: one product and one contiguous
        # sum per operator give both (the same bits as two separate ones), compute and memory contiguous.
        self._by_mix: dict[tuple[bool, bool], tuple[np.ndarray, float]] = {}
        for mix in ((True, False), (False, True), (True, True)):
            rows = (phase == 0) | ((phase == 1) & mix[0]) | ((phase == 2) & mix[1])
            launch = eff.launch_s * float(count[rows].sum())
            self._by_mix[mix] = (np.stack([blocks[rows, :, 0], memory[rows]])[:, None], launch)

        # Pure decode: the basis variables are 1, n (sequences = tokens), C (keys read) and the experts
        # hit, so each operator's coefficients fold into one per variable, each [compute, memory] × op.
        a = self._by_mix[(False, True)][0]
        self._decode_fold = np.stack(
            [
                a[..., 0] + a[..., 12] + a[..., 11] * self._hits(0.0),
                a[..., 1] + a[..., 2] + a[..., 13] + a[..., 14],
                a[..., 3] + a[..., 4] + a[..., 15] + a[..., 16],
                a[..., 5] + a[..., 17],
            ]
        )

        # Communication is affine in the batch's tokens: const + per_token · tokens. The exchanged
        # activations are 16-bit even when weights and KV cache are FP8 (engines all-reduce the bf16
        # output of the row-parallel GEMM).
        activation_bytes = model.hidden * BYTES_PER_ELEMENT[COMMUNICATION_PRECISION[precision]]
        link = nvlink_link(gpu.name, gpu.nvlink_bandwidth, tp, gpus_per_node)
        all_reduce = [2 * model.layers * ring_all_reduce_time(n * activation_bytes, tp, link) for n in (0, 1)]
        # Pipeline stages sit on nodes under one leaf switch.
        p2p = [(pp - 1) * send_recv_time(n * activation_bytes, INFINIBAND_SAME_LEAF) for n in (0, 1)]
        self._comm_const = float(all_reduce[0] + p2p[0])
        self._comm_per_token = float(all_reduce[1] - all_reduce[0] + p2p[1] - p2p[0])
        self._scalar = _ScalarTimes(self)

    def iteration_time(
        self,
        clock_bin: int,
        prefill_tokens: float = 0.0,
        prefill_seqs: float = 0.0,
        prefill_pairs: float = 0.0,
        prefill_context: float = 0.0,
        decode_seqs: float = 0.0,
        decode_context: float = 0.0,
    ) -> tuple[float, float, float]:
        """(time_s, compute_busy_s, memory_busy_s) of one iteration; busy times are per GPU.

        prefill_tokens: prompt-chunk tokens computed; prefill_seqs: sequences prefilling;
        prefill_pairs: Σ causal query·key pairs of the chunks (chunk c at offset o: c·o + c(c+1)/2);
        prefill_context: Σ keys the chunks attend to (o + c each); decode_seqs: sequences decoding one
        token; decode_context: Σ keys they attend to (their context including the new token).
        """
        if prefill_seqs <= 0:
            if decode_seqs <= 0:
                return 0.0, 0.0, 0.0
            return self.decode_time(clock_bin, decode_seqs, decode_context)
        tokens = prefill_tokens + decode_seqs
        hit_all = self._hits(tokens)
        v = (
                1.0, tokens, prefill_seqs + decode_seqs, prefill_pairs + decode_context,
                prefill_context + decode_context, hit_all,
                float(prefill_seqs > 0), prefill_tokens, prefill_seqs, prefill_pairs, prefill_context,
                self._hits(prefill_tokens),
                float(decode_seqs > 0), decode_seqs, decode_seqs, decode_context, decode_context,
                self._hits(decode_seqs),
        )  # fmt: skip
        mix = (True, decode_seqs > 0)
        if self._scalar.ready:
            return self._scalar.mixed[mix](self._scalar.seconds_per_flop[clock_bin], tokens, *v)
        t, c, m = self._evaluate(mix, clock_bin, np.array(v)[None, :], tokens)
        return float(t[0]), float(c[0]), float(m[0])

    def decode_time(self, clock_bin: int, seqs: float, context: float) -> tuple[float, float, float]:
        """`decode_times` of one iteration, as Python floats (the same bits)."""
        return self.decode_timer(clock_bin)(seqs, context)

    def decode_timer(self, clock_bin: int) -> Callable[[float, float], tuple[float, float, float]]:
        """`decode_time` at `clock_bin` as a function of (sequences, keys read), for many calls."""
        scalar = self._scalar
        if not scalar.ready:

            def arrays(seqs: float, context: float) -> tuple[float, float, float]:
                t, c, m = self.decode_times(clock_bin, np.array([seqs]), np.array([context]))
                return float(t[0]), float(c[0]), float(m[0])

            return arrays
        if self._moe:
            return lambda seqs, context: scalar.decode(
                scalar.seconds_per_flop[clock_bin], seqs, context, self._hits(seqs)
            )
        # Integers multiply Python floats as their exact float values: no conversion needed.
        return partial(scalar.decode, scalar.seconds_per_flop[clock_bin], hits=0.0)

    def decode_times(
        self, clock_bin: int, seqs: np.ndarray, context: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`iteration_time` of pure-decode iterations (`seqs` ≥ 1 sequences attending to `context` keys
        in all), element by element, with the same arithmetic as one call each."""
        n = np.asarray(seqs, dtype=float)
        a0, an, ak, ah = self._decode_fold
        t = n[:, None] * an  # [compute, memory] × iteration × operator: a0 + n·an + keys·ak
        t += a0
        t += np.asarray(context, dtype=float)[:, None] * ak
        if self._moe:
            hits = {k: self._hits(k) for k in np.unique(n).tolist()}
            t += np.array([hits[k] for k in n.tolist()])[:, None] * ah
        return self._finish(t, clock_bin, self._by_mix[(False, True)][1], n)

    def _evaluate(
        self, mix: tuple[bool, bool], clock_bin: int, v: np.ndarray, tokens: np.ndarray | float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Iteration times of the rows of `v` (basis variables). Products are summed per operator along
        a contiguous axis, so a row gives the same bits alone or among others (a BLAS matrix product
        would not: its summation order depends on the shape)."""
        both, launch = self._by_mix[mix]
        return self._finish((both * v[:, None, :]).sum(axis=3), clock_bin, launch, tokens)

    def _finish(
        self, t: np.ndarray, clock_bin: int, launch: float, tokens: np.ndarray | float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Times of rows of per-operator FLOPs and seconds of HBM traffic (t[0], t[1]; t[0] is scaled in
        place): the operators' soft maxima plus launches and communication, and the compute and memory
        busy times per GPU."""
        t[0] *= self._seconds_per_flop[clock_bin]
        busy = np.add.reduce(t, axis=2)
        if self.pp > 1:
            busy /= self.pp
        total = np.add.reduce(_soft_max(t[0], t[1], self._overlap_p), axis=1) + launch
        if self.tp > 1 or self.pp > 1:
            total += self.comm_time(tokens)
        return total, busy[0], busy[1]

    def comm_time(self, tokens: float | np.ndarray) -> float | np.ndarray:
        """Seconds of an iteration of `tokens` in collectives and stage transfers (clock-independent)."""
        return self._comm_const + self._comm_per_token * tokens if (self.tp > 1 or self.pp > 1) else 0.0

    def _hits(self, tokens: float) -> float:
        return expected_experts_hit(int(tokens), *self._experts) if self._moe else 0.0


class _ScalarTimes:
    """`IterationModel`'s times of one iteration in Python floats, with the same bits as its arrays.

    A batch has a handful of operators, so NumPy's cost per call, not per element, bounds one iteration.
    Each phase mix gets one straight-line function, generated once from the model's coefficients: every
    product of the array path, summed in the order NumPy's reductions sum (`_pairwise`: eight partial
    sums over a contiguous axis; a zero coefficient's product adds nothing and is left out), then the
    soft maximum and the reductions over operators, as `_finish` does. Python's float `**` is the C
    library's pow, as NumPy's power is for exponents it does not special-case; for those (and where
    NumPy's power uses its own vector kernel) `ready` is False and the array path runs.
    """

    def __init__(self, model: IterationModel) -> None:
        p = model._overlap_p
        self.ready = math.isinf(p) or (numpy_power_is_pow(p) and numpy_power_is_pow(1.0 / p))
        self.seconds_per_flop = model._seconds_per_flop.tolist()
        comm = ""
        if model.tp > 1 or model.pp > 1:
            comm = f" + ({model._comm_const!r} + {model._comm_per_token!r} * tokens)"
        scale = f" / {float(model.pp)!r}" if model.pp > 1 else ""

        def source(name: str, args: str, terms: list[tuple[str, str]], launch: float) -> str:
            lines = [f"def {name}(spf, {args}):"]
            if "tokens" not in args:
                lines.append("    tokens = n")
            for o, (flops, memory) in enumerate(terms):
                lines.append(f"    c{o} = ({flops}) * spf")
                lines.append(f"    m{o} = {memory}")
                if math.isinf(p):
                    lines.append(f"    s{o} = c{o} if c{o} >= m{o} else m{o}")
                else:
                    lines.append(f"    hi, lo = (c{o}, m{o}) if c{o} >= m{o} else (m{o}, c{o})")
                    lines.append(f"    s{o} = ((lo / hi) ** {p!r} + 1.0) ** {1.0 / p!r} * hi")
            ops = range(len(terms))
            busy = [_pairwise([f"{k}{o}" for o in ops]) for k in "cms"]
            total = f"({busy[2]} + {float(launch)!r}){comm}"
            lines.append(f"    return {total}, {busy[0]}{scale}, {busy[1]}{scale}")
            return "\n".join(lines)

        code: dict[str, Callable[..., tuple[float, float, float]]] = {}
        self.mixed: dict[tuple[bool, bool], Callable[..., tuple[float, float, float]]] = {}
        args = ", ".join(f"v{j}" for j in range(len(_PHASES) * _N_VARS))
        for mix in ((True, False), (True, True)):
            both, launch = model._by_mix[mix]
            coef = both[:, 0].tolist()  # Python floats: their repr reads back exactly
            terms = [
                tuple(
                    _pairwise([f"{a!r} * v{j}" if a != 0.0 else None for j, a in enumerate(coef[k][o])])
                    for k in (0, 1)
                )
                for o in range(len(coef[0]))
            ]
            exec(source("mixed", f"tokens, {args}", terms, launch), {}, code)
            self.mixed[mix] = code["mixed"]
        # A pure decode: a0 + n·an + keys·ak (+ hits·ah) per operator, added in that order (decode_times).
        a0, an, ak, ah = model._decode_fold[:, :, 0].tolist()
        terms = []
        for o in range(len(a0[0])):
            kinds = []
            for k in (0, 1):
                expr = f"({an[k][o]!r} * n + {a0[k][o]!r}) + {ak[k][o]!r} * keys"
                kinds.append(f"({expr}) + {ah[k][o]!r} * hits" if model._moe else expr)
            terms.append((kinds[0], kinds[1]))
        exec(source("decode", "n, keys, hits", terms, model._by_mix[(False, True)][1]), {}, code)
        self.decode = code["decode"]


# Exponents NumPy's power evaluates otherwise than by pow() (numpy/_core/src/umath: fast_scalar_power).
_NUMPY_FAST_POWERS = (-1.0, 0.0, 0.5, 1.0, 2.0)
# Bases the soft maximum raises: ratios in (0, 1], then 1 + ratio in (1, 2].
_POWER_PROBE = np.linspace(1e-3, 2.0, 2001)


@cache
def numpy_power_is_pow(p: float) -> bool:
    """Does NumPy's power give the C library's pow() bits for exponent `p` on this machine? Not for the
    exponents it special-cases, nor where its build uses a vector kernel of its own (e.g. SVML on AVX-512):
    checked over the bases the soft maximum meets."""
    if p in _NUMPY_FAST_POWERS:
        return False
    got = np.power(_POWER_PROBE, p).tolist()
    return all(g == b**p for g, b in zip(got, _POWER_PROBE.tolist(), strict=True))


def _pairwise(terms: list[str | None]) -> str:
    """An expression adding `terms` (None: zero, left out) in the order of NumPy's pairwise sum along a
    contiguous axis (numpy/_core/src/umath/loops_utils.h.src, up to its block of 128)."""

    def add(a: str | None, b: str | None) -> str | None:
        return b if a is None else a if b is None else f"({a} + {b})"

    n = len(terms)
    if n > 128:
        raise ValueError("more than one pairwise block")
    if n < 8:
        total = None
        for term in terms:
            total = add(total, term)
        return total or "0.0"
    r = terms[:8]
    i = 8
    while i < n - n % 8:
        r = [add(r[j], terms[i + j]) for j in range(8)]
        i += 8
    total = add(add(add(r[0], r[1]), add(r[2], r[3])), add(add(r[4], r[5]), add(r[6], r[7])))
    for term in terms[i:]:
        total = add(total, term)
    return total or "0.0"


def _soft_max(t_c: np.ndarray, t_m: np.ndarray, p: float) -> np.ndarray:
    """roofline.soft_max for operators that all have work (no zero-division guard needed)."""
    hi = np.maximum(t_c, t_m)
    if math.isinf(p):
        return hi
    ratio = np.minimum(t_c, t_m)
    ratio /= hi
    ratio **= p
    ratio += 1.0
    ratio **= 1.0 / p
    ratio *= hi
    return ratio


def _fit(
    m: ModelSpec, tp: int, precision: str, hits: Callable[[float], float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-operator coefficients of FLOPs and bytes in the basis variables, with counts and phases.

    Returns flops[op, var], bytes[op, var], count[op] and phase[op] (index into _PHASES).
    """
    moe = m.moe_layers > 0
    fitted: dict[str, dict[str, tuple[np.ndarray, np.ndarray, int]]] = {}
    for phase, basis in (("prefill", _prefill_basis(hits)), ("decode", _decode_basis(hits))):
        x = np.array([variables for _, variables in basis])
        per_batch = [forward_ops(m, batch, tp, precision) for batch, _ in basis]
        names = [op.name for op in per_batch[0]]
        y_flops = np.array([[op.flops for op in ops] for ops in per_batch])
        y_bytes = np.array([[op.bytes for op in ops] for ops in per_batch])
        used = [0, 1, 2, 3, 4, 5] if moe else [0, 1, 2, 3, 4]  # the experts-hit column is 0 for dense
        coef = np.zeros((2, _N_VARS, len(names)))
        for k, y in enumerate((y_flops, y_bytes)):
            coef[k, used] = np.linalg.lstsq(x[:, used], y, rcond=None)[0]
            misfit = np.abs(x @ coef[k] - y).max(axis=0) / np.maximum(np.abs(y).max(axis=0), 1.0)
            if misfit.max() > 1e-9:
                bad = names[int(misfit.argmax())]
                raise ValueError(f"forward_ops operator {bad!r} is not affine in the iteration's variables")
        fitted[phase] = {
            name: (coef[0, :, j], coef[1, :, j], op.count)
            for j, (name, op) in enumerate(zip(names, per_batch[0], strict=True))
        }

    flops, traffic, count, phase_index = [], [], [], []
    for name in dict.fromkeys([*fitted["prefill"], *fitted["decode"]]):
        pre, dec = fitted["prefill"].get(name), fitted["decode"].get(name)
        if pre and dec and _same(pre, dec):
            entries = [(pre, 0)]
        else:
            entries = [(e, _PHASES.index(p)) for e, p in ((pre, "prefill"), (dec, "decode")) if e]
        for (f, b, n), p in entries:
            flops.append(f)
            traffic.append(b)
            count.append(n)
            phase_index.append(p)
    return np.array(flops), np.array(traffic), np.array(count, dtype=float), np.array(phase_index)


def _same(a: tuple[np.ndarray, np.ndarray, int], b: tuple[np.ndarray, np.ndarray, int]) -> bool:
    scale = max(np.abs(a[0]).max(), np.abs(a[1]).max(), 1.0)
    return a[2] == b[2] and bool(
        np.allclose(a[0], b[0], rtol=1e-9, atol=1e-9 * scale)
        and np.allclose(a[1], b[1], rtol=1e-9, atol=1e-9 * scale)
    )
