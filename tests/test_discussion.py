"""Discussion sentences follow the numbers: each builder is run on an outcome and on its opposite."""

import re

import numpy as np
import pytest

from labkit import discussion


def test_compare_has_three_outcomes():
    words = dict(lower="lower", higher="higher", similar="similar")
    assert discussion.compare(0.9, 1.0, **words) == "lower"
    assert discussion.compare(1.1, 1.0, **words) == "higher"
    assert discussion.compare(1.01, 1.0, **words) == "similar"


def test_first_epoch_gap_explains_either_order():
    below = discussion.first_epoch_gap(train_loss=0.20, val_loss=0.15)
    above = discussion.first_epoch_gap(train_loss=0.15, val_loss=0.20)
    assert "is below the training loss" in below and "not below" not in below
    assert "is not below the training loss" in above
    assert "0.1500" in above and "0.2000" in above


def test_noise_removal_tells_copying_from_denoising_from_undertraining():
    noise_var = 0.01
    copying = discussion.noise_removal(0.004, 0.006, noise_var, input_mse_clean=0.01)
    denoising = discussion.noise_removal(0.0105, 0.001, noise_var, input_mse_clean=0.01)
    untrained = discussion.noise_removal(0.02, 0.01, noise_var, input_mse_clean=0.01)
    assert "copies" in copying
    assert "leaves out most of the noise" in denoising and "10.0x closer" in denoising
    assert "train longer" in untrained
    assert len({copying, denoising, untrained}) == 3


def _study(errors):
    return [{"latent": k, "mse_clean": e, "ratio": 50 / k} for k, e in zip([1, 2, 4, 8], errors)]


def test_code_size_trend_names_the_best_size():
    largest_best = discussion.code_size_trend(_study([0.05, 0.03, 0.02, 0.01]))
    middle_best = discussion.code_size_trend(_study([0.05, 0.03, 0.01, 0.02]))
    smallest_best = discussion.code_size_trend(_study([0.01, 0.03, 0.02, 0.02]))
    assert "The largest code was the best" in largest_best and "cannot hold all three" in largest_best
    assert "best size here was **4**" in middle_best and "The largest code (8 numbers, 0.0200) was not" in middle_best
    assert "cannot hold" not in smallest_best and "best size here was **1**" in smallest_best
    single = discussion.code_size_trend(_study([0.05]))
    assert "Only one code size ran" in single and "best" not in single


@pytest.mark.parametrize("kind", ["spike", "level_shift", "flatline", "noise_burst"])
def test_every_anomaly_kind_has_its_own_explanation(kind):
    text = discussion.hardest_anomaly(kind, 0.4)
    assert f"*{kind}* (40% detected)" in text
    others = [discussion.hardest_anomaly(k, 0.4).split(": ", 1)[1] for k in discussion.ANOMALY_LOOKS if k != kind]
    assert text.split(": ", 1)[1] not in others


def test_anomaly_kinds_match_the_sequences_module():
    from labkit.sequences import ANOMALY_KINDS

    assert set(discussion.ANOMALY_LOOKS) == set(ANOMALY_KINDS)


def test_noise_gain_follows_the_gains():
    shrinking = discussion.noise_gain({0.1: 3.0, 0.3: 8.0})
    growing = discussion.noise_gain({0.1: 9.0, 0.3: 8.0})
    level = discussion.noise_gain({0.1: 8.05, 0.3: 8.0})
    assert "the less noise there is, the less there is to win" in shrinking
    assert "more than at the highest level" in growing and "less to win" not in growing
    assert "about the same" in level


def test_gradient_agreement_only_says_round_off_when_it_is():
    assert "float32 round-off" in discussion.gradient_agreement(3e-7)
    close = discussion.gradient_agreement(4e-4)
    assert "more than float32 round-off" in close and "i.e." not in close
    assert "is wrong" in discussion.gradient_agreement(0.2)


def test_beta_tradeoff_claims_the_trade_off_only_when_it_happened():
    low = {"beta": 0.5, "kl": 9.0, "reconstruction": 140.0}
    expected = discussion.beta_tradeoff(low, {"beta": 4.0, "kl": 4.0, "reconstruction": 160.0})
    opposite = discussion.beta_tradeoff(low, {"beta": 4.0, "kl": 10.0, "reconstruction": 130.0})
    assert "KL term falls" in expected and "reconstruction term rises" in expected and "too short" not in expected
    assert "KL term rises" in opposite and "reconstruction term falls" in opposite and "too short" in opposite


def test_pooling_conclusion_follows_the_verdicts_and_the_seed_count():
    same = discussion.pooling_conclusion({2: "max better", 3: "max better"}, n_seeds=3)
    mixed = discussion.pooling_conclusion({2: "max better", 3: "no clear difference"}, n_seeds=3)
    none = discussion.pooling_conclusion({2: "no clear difference", 3: "no clear difference"}, n_seeds=3)
    assert "every depth the verdict is the same, **max better**" in same
    assert "clear verdict at L = 2;" in mixed
    assert "At no depth" in none
    assert "by chance 25%" in same and "2.5 standard deviations" in same
    assert "by chance 50%" in discussion.pooling_conclusion({2: "max better"}, n_seeds=2)


def test_yardstick_credits_only_a_code_that_wins_with_no_more_numbers():
    def results(psnr_small, psnr_wide):
        return [{"code": "4x4x8", "numbers": 128, "test_psnr": psnr_small},
                {"code": "4x4x32", "numbers": 512, "test_psnr": psnr_wide}]

    wins = discussion.yardstick(results(24.0, 26.0), yardstick_psnr=22.0, yardstick_numbers=192)
    only_bigger = discussion.yardstick(results(21.0, 26.0), yardstick_psnr=22.0, yardstick_numbers=192)
    assert "4x4x8 code is above it (+2.0 dB) with fewer numbers" in wins and "earns its training" in wins
    assert "4x4x8 code is below it (-1.0 dB)" in only_bigger and "no learned code beats" in only_bigger
    assert "4x4x32 code is above it (+4.0 dB) with more numbers" in only_bigger


def test_bias_share_separates_an_offset_from_scatter():
    rng = np.random.default_rng(0)
    offset = 0.3 + 0.05 * rng.standard_normal(500)
    scatter = 0.3 * rng.standard_normal(500)
    assert discussion.bias_share(offset) > 0.9
    assert discussion.bias_share(scatter) < 0.05
    assert discussion.bias_share(np.zeros(3)) == 0.0
    biased, noisy = discussion.bias_or_scatter(offset, "subject 4"), discussion.bias_or_scatter(scatter, "subject 4")
    assert "signature of a person-specific difference" in biased
    assert "scatter around the truth" in noisy and "signature" not in noisy
    assert re.search(r"On subject 4, \d+% of the mean squared error is bias", biased)


def test_depth_effect_says_helped_hurt_or_no_difference():
    shallow = {"test_mse": 0.0100, "parameters": 1000}
    assert "**helped**" in discussion.depth_effect(32, shallow, {"test_mse": 0.0090, "parameters": 2000})
    assert "**hurt**" in discussion.depth_effect(32, shallow, {"test_mse": 0.0110, "parameters": 2000})
    assert "no clear difference" in discussion.depth_effect(32, shallow, {"test_mse": 0.0101, "parameters": 2000})


def test_size_or_depth_names_what_mattered_more_and_which_way():
    size = discussion.size_or_depth(code_effect=2.0, depth_effect=1.1, small=16, large=64)
    deeper_better = discussion.size_or_depth(code_effect=1.2, depth_effect=1.5, small=16, large=64)
    deeper_worse = discussion.size_or_depth(code_effect=1.2, depth_effect=0.6, small=16, large=64)
    assert "a bigger effect than depth" in size
    assert "depth lowered the error" in deeper_better and "what pays" in deeper_better
    assert "depth raised the error by a factor of 1.67" in deeper_worse and "what pays" not in deeper_worse


def test_greedy_verdict_follows_the_sign_of_the_gain():
    assert "**10% better**" in discussion.greedy_verdict(0.009, 0.010, 5)
    worse = discussion.greedy_verdict(0.011, 0.010, 5)
    assert "**10% worse**" in worse and "5 epochs of fine-tuning" in worse
    assert "within 3%" in discussion.greedy_verdict(0.0101, 0.010, 5)


def test_smoothness_names_the_smoother_model_or_a_tie():
    assert "VAE's paths are **smoother**" in discussion.smoothness(0.10, 0.20)
    assert "plain autoencoder's paths" in discussion.smoothness(0.20, 0.10)
    assert "about as smooth" in discussion.smoothness(0.105, 0.10)


def test_plain_vs_vae_fit_follows_which_reconstructs_better():
    closer = discussion.plain_vs_vae_fit(140.0, 150.0, 5, 20)
    not_closer = discussion.plain_vs_vae_fit(160.0, 150.0, 5, 20)
    assert "fits the images more closely" in closer
    assert "cost no reconstruction quality" in not_closer and "more closely" not in not_closer


def test_best_beta_note_says_where_the_elbo_was_lowest():
    assert "as it should be" in discussion.best_beta_note(1.0)
    assert "weaker KL pull" in discussion.best_beta_note(0.5)
    assert "stronger KL pull" in discussion.best_beta_note(4.0)


def test_split_optimism_separates_overlap_from_knowing_the_people():
    assert "little optimism" in discussion.split_optimism(0.12, 0.10, 0.11)
    assert "cannot separate" in discussion.split_optimism(0.30, 0.10, None)
    assert "*not* what flatters" in discussion.split_optimism(0.30, 0.10, 0.11)
    assert "part of the optimism is the overlap" in discussion.split_optimism(0.30, 0.10, 0.25)


def test_network_vs_experts_says_who_wins_from_the_numbers():
    win = discussion.network_vs_experts(0.08, 0.25, 0.14, 0.20)
    assert "beats cadence alone" in win and "beats the four-feature linear model" in win
    assert "tell the network more than the four numbers" in win and "It even beats zero-velocity" in win
    lose = discussion.network_vs_experts(0.14, 0.25, 0.10, 0.04)
    assert "loses to the four-feature linear model" in lose and "has not learned more" in lose
    assert "needs no training at all and still does better" in lose
    tie = discussion.network_vs_experts(0.10, 0.11, 0.105, 0.30)
    assert "no clear win either way" in tie


def test_more_people_reads_the_direction_of_the_change():
    assert "lowers the new-person RMSE from 0.150 to 0.100" in discussion.more_people(0.15, 0.10, 2, 6)
    assert "about where it was" in discussion.more_people(0.15, 0.145, 2, 6)
    assert "raises the new-person RMSE" in discussion.more_people(0.10, 0.15, 2, 6)
