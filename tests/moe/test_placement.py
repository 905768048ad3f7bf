import numpy as np
import pytest

from gigawatt.moe import ExpertMap, cross_node_fraction, place
from gigawatt.moe.packing import balanced_pack

# deepseek-ai/EPLB README example: 2 layers, 12 experts, 16 replicas, 4 groups, 2 nodes, 8 GPUs.
EPLB_LOADS = [
    [90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86],
    [20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27],
]
EPLB_PHY2LOG = [
    [5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1],
    [7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1],
]
SIZES = {"n_slots": 16, "n_groups": 4, "n_nodes": 2, "n_gpus": 8}


def test_reproduces_the_eplb_example_exactly() -> None:
    placement = place(EPLB_LOADS, **SIZES)
    assert placement.phy2log.tolist() == EPLB_PHY2LOG
    np.testing.assert_array_equal(placement.logcnt.sum(axis=1), [16, 16])
    for layer in range(2):
        counts = np.bincount(placement.phy2log[layer], minlength=12)
        np.testing.assert_array_equal(placement.logcnt[layer], counts)


def test_max_over_mean_counts_replicas_as_a_share_of_their_expert() -> None:
    placement = place(EPLB_LOADS, **SIZES)
    loads = np.array(EPLB_LOADS, dtype=float)
    for layer in range(2):
        share = loads[layer] / placement.logcnt[layer]
        gpu = share[placement.phy2log[layer]].reshape(8, 2).sum(axis=1)
        assert placement.max_over_mean[layer] == pytest.approx(gpu.max() / gpu.mean())
    assert (placement.max_over_mean >= 1.0).all()


def test_hierarchical_keeps_each_group_on_one_node() -> None:
    placement = place(EPLB_LOADS, **SIZES)
    node_of_slot = np.arange(16) // 8
    for layer in range(2):
        groups = placement.phy2log[layer] // 3
        for group in range(4):
            assert len(set(node_of_slot[groups == group])) == 1


def test_global_balances_at_least_as_well() -> None:
    hierarchical = place(EPLB_LOADS, **SIZES)
    global_ = place(EPLB_LOADS, **SIZES, policy="global")
    assert (global_.max_over_mean <= hierarchical.max_over_mean + 1e-12).all()


def test_locality_knob_trades_balance_for_less_cross_node_traffic() -> None:
    loads = np.random.default_rng(0).pareto(1.5, (3, 64)) * 100
    sizes = {"n_slots": 96, "n_groups": 8, "n_nodes": 4, "n_gpus": 16}
    zero = place(loads, **sizes, policy="locality", locality=0.0)
    np.testing.assert_array_equal(zero.phy2log, place(loads, **sizes).phy2log)
    crossing = [
        cross_node_fraction(place(loads, **sizes, policy="locality", locality=x), loads) for x in (0, 0.5, 1)
    ]
    assert (crossing[0] == 0.75).all()  # one node of four holds each expert
    assert (crossing[1] < crossing[0]).all() and (crossing[2] < crossing[1]).all()
    global_ = place(loads, **sizes, policy="global")
    local = place(loads, **sizes, policy="locality", locality=1.0)
    assert (local.max_over_mean > global_.max_over_mean).all()
    assert (local.logcnt.sum(axis=1) == 96).all()


def test_expert_map_from_a_placement() -> None:
    placement = place(EPLB_LOADS, **SIZES)
    expert_map = ExpertMap.from_placement(placement, layer=0)
    # Expert 5 sits in slots 0 and 2 of layer 0, i.e. on GPUs 0 and 1.
    assert sorted(expert_map.replica_gpu[5][expert_map.replica_gpu[5] >= 0]) == [0, 1]
    assert expert_map.n_gpus == 8


def test_balanced_pack_fills_packs_evenly() -> None:
    weight = np.array([[5.0, 1.0, 4.0, 2.0, 3.0, 3.0]])
    pack, rank = balanced_pack(weight, 3)
    np.testing.assert_array_equal(np.bincount(pack[0], minlength=3), [2, 2, 2])
    sums = np.bincount(pack[0], weights=weight[0], minlength=3)
    np.testing.assert_array_equal(sums, [6.0, 6.0, 6.0])
    assert set(rank[0].tolist()) == {0, 1}


@pytest.mark.parametrize(
    ("sizes", "policy", "message"),
    [
        ({"n_slots": 15, "n_groups": 4, "n_nodes": 2, "n_gpus": 8}, "eplb", "multiple of gpus"),
        ({"n_slots": 16, "n_groups": 4, "n_nodes": 4, "n_gpus": 6}, "eplb", "multiple of gpus"),
        ({"n_slots": 18, "n_groups": 4, "n_nodes": 4, "n_gpus": 6}, "eplb", "multiple of nodes"),
        ({"n_slots": 16, "n_groups": 5, "n_nodes": 1, "n_gpus": 8}, "eplb", "divisible by groups"),
        ({"n_slots": 16, "n_groups": 6, "n_nodes": 4, "n_gpus": 8}, "hierarchical", "divisible by nodes"),
        ({"n_slots": 16, "n_groups": 6, "n_nodes": 4, "n_gpus": 8}, "locality", "divisible by nodes"),
        ({"n_slots": 8, "n_groups": 4, "n_nodes": 2, "n_gpus": 8}, "eplb", "at least the number of experts"),
    ],
)
def test_bad_sizes_are_rejected(sizes: dict[str, int], policy: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        place(EPLB_LOADS, **sizes, policy=policy)  # type: ignore[arg-type]


def test_groups_not_divisible_by_nodes_fall_back_to_global() -> None:
    sizes = {"n_slots": 16, "n_groups": 6, "n_nodes": 4, "n_gpus": 8}
    fallback = place(EPLB_LOADS, **sizes)
    np.testing.assert_array_equal(fallback.phy2log, place(EPLB_LOADS, **sizes, policy="global").phy2log)


def test_bad_loads_are_rejected() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        place([[1, -2, 3, 4]], n_slots=4, n_groups=1, n_nodes=1, n_gpus=1)
    with pytest.raises(ValueError, match="policy"):
        place([[1, 2]], n_slots=2, n_groups=1, n_nodes=1, n_gpus=1, policy="best")  # type: ignore[arg-type]
