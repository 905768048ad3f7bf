"""Parity with deepseek-ai/EPLB `rebalance_experts` (eplb.py at commit d52c72d).

EPLB needs torch, which is not a dependency, so its outputs are recorded here as fixtures: the README
example (published input and printed phy2log) and cases traced by hand through EPLB's steps, each trace
written beside its fixture. The steps, as EPLB runs them on float32 loads:

  policy  hierarchical when groups % nodes == 0, else global = hierarchical with 1 group and 1 node.
  1. pack groups onto nodes (balanced packing of group loads).
  2. per node, replicate: each extra slot goes to the expert with the highest load/replicas (first max).
  3. per node, pack the replicas onto its GPUs, a replica weighing load/replicas of its expert.
  balanced packing: with one item per pack, item i → pack i. Otherwise items heaviest first (equal
  weights: lower index first, which is what torch's CPU sort gives for up to 16 items), each to the
  lightest pack with room (first minimum); a pack's rank order is the order items arrived.
  physical slot = gpu * slots_per_gpu + rank in pack. log2phy[l, e, r] is the slot of replica r of e
  (r = 0 the first copy, then in the order replicas were granted), -1 padded to the largest count.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gigawatt.moe import place
from gigawatt.moe.placement import describe_shape_problem

README_LOADS = [
    [90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86],
    [20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27],
]
README_PHY2LOG = [
    [5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1],
    [7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1],
]


def test_readme_example() -> None:
    placement = place(README_LOADS, n_slots=16, n_groups=4, n_nodes=2, n_gpus=8)
    assert placement.phy2log.tolist() == README_PHY2LOG
    assert placement.log2phy.shape == (2, 12, int(placement.logcnt.max()))


# Global fallback, two layers: 6 experts, 8 replicas, 3 groups, 2 nodes, 4 GPUs. 3 % 2 != 0 → global.
#
# Layer 0, loads [60, 10, 30, 20, 50, 40]. Replicate 6 → 8: max load/count is e0 (60) → e0 ×2 (rank 1);
#   then [30, 10, 30, 20, 50, 40] → e4 ×2 (rank 1). Slots [e0 e1 e2 e3 e4 e5 e0' e4'], weights
#   [30 10 30 20 25 40 30 25]. Order: s5(40) s0 s2 s6 (30) s4 s7 (25) s3(20) s1(10).
#   s5→g0 [40 0 0 0]; s0→g1; s2→g2; s6→g3 [40 30 30 30]; s4→g1 (first of the 30s) [40 55 30 30];
#   s7→g2 [40 55 55 30]; s3→g3 (g0, g3 have room; 30 < 40) [40 55 55 50]; s1→g0 [50 55 55 50].
#   Physical order: g0 [s5 s1], g1 [s0 s4], g2 [s2 s7], g3 [s6 s3] → phy2log [5 1 0 4 2 4 0 3];
#   e0 has rank 0 at slot 2 and rank 1 at slot 6; e4 rank 0 at slot 3, rank 1 at slot 5.
# Layer 1, loads [5, 5, 5, 5, 5, 35]: e5 gets both extras (35, then 17.5 > 5) → ranks 1, 2. Weights
#   [5 5 5 5 5 35/3 35/3 35/3]. Order: s5 s6 s7 (11.67), then s0..s4 (5). s5→g0, s6→g1, s7→g2, s0→g3,
#   s1→g3 (5 is lightest) full; s2→g0 (three tied at 11.67: first), s3→g1, s4→g2.
#   Physical order: g0 [s5 s2], g1 [s6 s3], g2 [s7 s4], g3 [s0 s1] → phy2log [5 2 5 3 5 4 0 1].
# log2phy is 3 wide: the most replicas of any expert in any layer (e5 of layer 1).
GLOBAL_LOADS = [[60, 10, 30, 20, 50, 40], [5, 5, 5, 5, 5, 35]]
GLOBAL_PHY2LOG = [[5, 1, 0, 4, 2, 4, 0, 3], [5, 2, 5, 3, 5, 4, 0, 1]]
GLOBAL_LOG2PHY = [
    [[2, 6, -1], [1, -1, -1], [4, -1, -1], [7, -1, -1], [3, 5, -1], [0, -1, -1]],
    [[6, -1, -1], [7, -1, -1], [1, -1, -1], [3, -1, -1], [5, -1, -1], [0, 2, 4]],
]
GLOBAL_LOGCNT = [[2, 1, 1, 1, 2, 1], [1, 1, 1, 1, 1, 3]]


def test_global_fallback_when_groups_do_not_divide_over_nodes() -> None:
    placement = place(GLOBAL_LOADS, n_slots=8, n_groups=3, n_nodes=2, n_gpus=4)
    assert placement.phy2log.tolist() == GLOBAL_PHY2LOG
    assert placement.log2phy.tolist() == GLOBAL_LOG2PHY
    assert placement.logcnt.tolist() == GLOBAL_LOGCNT
    np.testing.assert_allclose(placement.gpu_load, [[50, 55, 55, 50], [50 / 3, 50 / 3, 50 / 3, 10]])


def test_global_fallback_ignores_groups_and_nodes() -> None:
    # 5 % 3 != 0 → global; EPLB then asserts nothing about experts % groups or gpus % nodes.
    placement = place(GLOBAL_LOADS, n_slots=8, n_groups=5, n_nodes=3, n_gpus=4)
    assert placement.phy2log.tolist() == GLOBAL_PHY2LOG
    explicit = place(GLOBAL_LOADS, n_slots=8, n_groups=3, n_nodes=2, n_gpus=4, policy="global")
    assert explicit.log2phy.tolist() == GLOBAL_LOG2PHY


def test_hierarchical_refuses_what_eplb_would_send_to_global() -> None:
    message = r"groups \(3\) must be divisible by nodes \(2\).*falls back to global"
    with pytest.raises(ValueError, match=message):
        place(GLOBAL_LOADS, n_slots=8, n_groups=3, n_nodes=2, n_gpus=4, policy="hierarchical")


# Ties, a single node: loads [10, 20, 10, 20], 6 replicas, 2 groups, 1 node, 2 GPUs → hierarchical.
# 1. group loads [30, 30] into 1 node: a tie, g0 first → identity relabelling.
# 2. extras: e1 (20, first of the two maxima) rank 1, then [10 10 10 20] → e3 rank 1.
#    Slots [e0 e1 e2 e3 e1' e3'], all weighing 10.
# 3. all tied, taken in index order: s0→g0, s1→g1, s2→g0 (tie 10/10: first), s3→g1, s4→g0, s5→g1.
#    g0 [s0 s2 s4] = [e0 e2 e1'], g1 [s1 s3 s5] = [e1 e3 e3'] → phy2log [0 2 1 1 3 3].
#    e1: rank 0 (s1) at slot 3, rank 1 (s4) at slot 2 → log2phy [3, 2], not slot order.
def test_ties_single_node() -> None:
    placement = place([[10, 20, 10, 20]], n_slots=6, n_groups=2, n_nodes=1, n_gpus=2)
    assert placement.phy2log.tolist() == [[0, 2, 1, 1, 3, 3]]
    assert placement.log2phy.tolist() == [[[0, -1], [3, 2], [1, -1], [4, 5]]]
    assert placement.logcnt.tolist() == [[1, 2, 1, 2]]


# replicas == experts and groups == nodes: every balanced packing has one item per pack, and EPLB then
# keeps item i in pack i — group g on node g, slot s on GPU s — whatever the loads: phy2log = identity.
# (A heaviest-first greedy would put group 1, load 7, on node 0 instead.)
def test_one_item_per_pack_keeps_the_order() -> None:
    placement = place([[1, 2, 4, 3]], n_slots=4, n_groups=2, n_nodes=2, n_gpus=4)
    assert placement.phy2log.tolist() == [[0, 1, 2, 3]]
    assert placement.log2phy.tolist() == [[[0], [1], [2], [3]]]
    assert placement.max_over_mean.tolist() == [pytest.approx(1.6)]


# EPLB converts loads to float32: 2**24 + 1 rounds to 2**24, so the two experts tie and the first gets
# the extra replica (in float64 the second would).
def test_loads_are_compared_in_float32() -> None:
    placement = place([[2**24, 2**24 + 1]], n_slots=3, n_groups=1, n_nodes=1, n_gpus=1)
    assert placement.logcnt.tolist() == [[2, 1]]


@pytest.mark.parametrize(
    ("sizes", "allowed"),
    [
        # (experts, replicas, groups, nodes, gpus): EPLB's assertions
        ((12, 15, 4, 2, 8), "multiple of gpus"),  # num_replicas % num_gpus
        ((12, 8, 4, 2, 8), "at least the number of experts"),  # num_redundant >= 0
        ((12, 16, 4, 2, 3), "multiple of gpus"),
        ((12, 18, 6, 2, 3), "multiple of nodes"),  # hierarchical: num_gpus % num_nodes
        ((10, 16, 4, 2, 8), "divisible by groups"),  # hierarchical: experts % groups
        ((12, 16, 0, 2, 8), "at least 1"),  # EPLB: division by zero
        ((12, 16, 4, 0, 8), "at least 1"),
    ],
)
def test_refuses_what_eplb_asserts_on(sizes: tuple[int, ...], allowed: str) -> None:
    assert allowed in (describe_shape_problem(*sizes) or "")
    loads = np.ones((1, sizes[0]))
    with pytest.raises(ValueError, match=allowed):
        place(loads, n_slots=sizes[1], n_groups=sizes[2], n_nodes=sizes[3], n_gpus=sizes[4])


# ---------------------------------------------------------------- properties

@st.composite
def placement_inputs(draw: st.DrawFn) -> tuple[np.ndarray, dict[str, int]]:
    nodes = draw(st.integers(1, 3))
    gpus = nodes * draw(st.integers(1, 3))
    groups = draw(st.integers(1, 6))
    group_size = draw(st.integers(1, 4))
    experts = groups * group_size
    slots_per_gpu = draw(st.integers(-(-experts // gpus), -(-experts // gpus) + 3))
    layers = draw(st.integers(1, 3))
    whole = draw(st.booleans())
    values = st.integers(0, 1000) if whole else st.floats(0, 1e6, allow_nan=False, allow_infinity=False)
    loads = np.array(draw(st.lists(values, min_size=layers * experts, max_size=layers * experts)), float)
    sizes = {"n_slots": gpus * slots_per_gpu, "n_groups": groups, "n_nodes": nodes, "n_gpus": gpus}
    return loads.reshape(layers, experts), sizes


@settings(max_examples=150, deadline=None)
@given(placement_inputs())
def test_placement_invariants(case: tuple[np.ndarray, dict[str, int]]) -> None:
    loads, sizes = case
    layers, experts = loads.shape
    placement = place(loads, **sizes)
    slots, gpus = sizes["n_slots"], sizes["n_gpus"]
    assert placement.phy2log.shape == (layers, slots)
    assert (placement.logcnt >= 1).all()
    assert (placement.logcnt.sum(axis=1) == slots).all()
    for layer in range(layers):
        np.testing.assert_array_equal(np.bincount(placement.phy2log[layer], minlength=experts),
                                      placement.logcnt[layer])
    # log2phy: every slot once, each under the expert it holds, -1 exactly past the expert's count.
    table = placement.log2phy
    assert table.shape == (layers, experts, placement.logcnt.max())
    filled = table >= 0
    np.testing.assert_array_equal(filled.sum(axis=2), placement.logcnt)
    assert (filled == (np.arange(table.shape[2]) < placement.logcnt[..., None])).all()
    for layer in range(layers):
        slots_listed = table[layer][filled[layer]]
        assert sorted(slots_listed.tolist()) == list(range(slots))
        holders = np.repeat(np.arange(experts), placement.logcnt[layer])
        np.testing.assert_array_equal(placement.phy2log[layer][table[layer][filled[layer]]], holders)
    # Each GPU holds slots/gpus physical experts; the load is all accounted for.
    assert placement.slot_gpu().tolist() == np.repeat(np.arange(gpus), slots // gpus).tolist()
    np.testing.assert_allclose(placement.gpu_load.sum(axis=1), loads.sum(axis=1), rtol=1e-9)
    assert (placement.max_over_mean >= 1.0 - 1e-12).all()
    # Determinism, also from integer input.
    again = place(loads.tolist(), **sizes)
    np.testing.assert_array_equal(again.phy2log, placement.phy2log)
    np.testing.assert_array_equal(again.log2phy, placement.log2phy)


@settings(max_examples=150, deadline=None)
@given(placement_inputs())
def test_replication_minimises_the_heaviest_replica(case: tuple[np.ndarray, dict[str, int]]) -> None:
    """Replica counts are min-max optimal per node: no replica moved from one expert to another of the same
    node lowers the heaviest load per replica; with one node, that is never above the heaviest expert."""
    loads, sizes = case
    placement = place(loads, **sizes, policy="global")
    share = loads.astype(np.float32) / placement.logcnt
    heaviest = share.max(axis=1)
    donors = placement.logcnt > 1
    after_giving = np.where(donors, loads.astype(np.float32) / np.maximum(placement.logcnt - 1, 1), np.inf)
    assert (heaviest <= after_giving.min(axis=1) * (1 + 1e-6)).all()
    assert (heaviest <= loads.astype(np.float32).max(axis=1)).all()


def test_replicas_can_leave_the_busiest_gpu_worse_than_none() -> None:
    """EPLB's packing is greedy: extra replicas shrink the heaviest replica but need not shrink the busiest
    GPU. Loads [50, 0, 63, 26] on 2 GPUs: one slot each → GPUs [63, 76]; with 2 extras e2 and e0 split
    into 31.5 and 25 each, and heaviest-first packing ends at [57.5, 81.5]."""
    loads = [[50, 0, 63, 26]]
    plain = place(loads, n_slots=4, n_groups=1, n_nodes=1, n_gpus=2)
    replicated = place(loads, n_slots=6, n_groups=1, n_nodes=1, n_gpus=2)
    np.testing.assert_allclose(np.sort(plain.gpu_load[0]), [63, 76])
    np.testing.assert_allclose(np.sort(replicated.gpu_load[0]), [57.5, 81.5])
    assert replicated.max_over_mean[0] > plain.max_over_mean[0]


def test_physics_provider_reports_the_readme_example() -> None:
    from gigawatt.moe import physics
    from gigawatt.validation.physics import PROVIDERS

    assert "gigawatt.moe.physics:checks" in PROVIDERS
    assert [list(row) for row in physics.README_PHY2LOG] == README_PHY2LOG  # the fixture, typed twice
    (check,) = physics.checks()
    assert check.role == "model" and check.predicted == 1.0 and check.passed

