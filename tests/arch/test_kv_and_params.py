"""Architecture arithmetic against formulas (DeepSeek-V2 Table 1) and published parameter counts."""

import math

import pytest

from gigawatt.arch.describe import describe
from gigawatt.arch.kv import (
    kv_bytes_per_token,
    kv_elements_per_token_layer,
    mha_equivalent_kv_bytes_per_token,
)
from gigawatt.arch.params import count_params
from gigawatt.arch.spec import Attention, load_model
from gigawatt.catalog import model_names


@pytest.mark.parametrize(
    ("att", "elements"),
    [
        (Attention("mha", heads=32, kv_heads=32, head_dim=128), 2 * 32 * 128),
        (Attention("gqa", heads=64, kv_heads=8, head_dim=128), 2 * 8 * 128),
        (Attention("mqa", heads=64, kv_heads=1, head_dim=128), 2 * 128),
        (
            Attention(
                "mla", heads=128, kv_lora_rank=512, qk_rope_head_dim=64, qk_nope_head_dim=128, v_head_dim=128
            ),
            512 + 64,
        ),
    ],
)
def test_kv_elements_per_token_per_layer(att, elements):
    assert kv_elements_per_token_layer(att) == elements


def test_deepseek_v3_mla_cache_and_reduction():
    m = load_model("deepseek-v3")
    assert kv_bytes_per_token(m, "bf16") == (512 + 64) * 61 * 2
    assert kv_bytes_per_token(m, "fp8") == (512 + 64) * 61
    assert mha_equivalent_kv_bytes_per_token(m, "bf16") / kv_bytes_per_token(m, "bf16") > 50


def test_llama_70b_gqa_cache():
    assert kv_bytes_per_token(load_model("llama-3.1-70b"), "bf16") == 2 * 8 * 128 * 80 * 2  # 320 KiB


def _consistent(ours: float, published: float) -> bool:
    """Within 1 %, or equal to the published figure at its printed precision (rounded or truncated)."""
    if abs(ours / published - 1.0) <= 0.01:
        return True
    exponent = math.floor(math.log10(published))
    digits = next(d for d in range(1, 6) if float(f"{published:.{d - 1}e}") == published)
    unit = 10.0 ** (exponent - digits + 1)
    return published in (
        pytest.approx(round(ours / unit) * unit),
        pytest.approx(math.floor(ours / unit) * unit),
    )


@pytest.mark.parametrize("name", model_names())
def test_parameter_counts_match_published(name):
    m = load_model(name)
    c = count_params(m)
    assert m.published_total is not None
    assert abs(c.total / m.published_total - 1.0) <= 0.01, (c.total, m.published_total)
    if m.published_active is not None:
        active = c.active_without_input_embedding if m.published_active_counts == "lm_head" else c.active
        assert _consistent(active, m.published_active), (active, m.published_active)


def test_moe_activates_far_fewer_parameters_than_it_holds():
    for name, ratio in (("deepseek-v3", 0.07), ("mixtral-8x7b", 0.3), ("qwen3-30b-a3b", 0.12)):
        c = count_params(load_model(name))
        assert c.active / c.total < ratio


def test_model_names_are_case_insensitive_and_unknown_names_suggest():
    assert load_model("DEEPSEEK-V3").name == load_model("deepseek-v3").name == "DeepSeek-V3"
    with pytest.raises(ValueError, match="did you mean"):
        load_model("deepseek-v4")


def test_describe_reports_flops_per_token():
    info = describe(load_model("llama-3.1-8b"), context=1)
    # At context 1, a token's forward FLOPs are ~2 × the parameters it multiplies by.
    assert info["flops_per_token"]["decode"] == pytest.approx(
        2 * count_params(load_model("llama-3.1-8b")).active_without_input_embedding, rel=0.02
    )
