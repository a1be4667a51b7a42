"""Sentences for the labs' discussion cells, decided by the run's own numbers.

Every sentence that states a direction, a comparison or a cause is built here from the values it
is about, so that it changes when they do: a discussion can never contradict the run it is
printed in. Each function returns plain Markdown text.
"""

from __future__ import annotations

import numpy as np

from labkit.sweeps import paired_lead_needed

ANOMALY_LOOKS = {
    "spike": "a few isolated jumps that the model smooths over, so most steps still look normal",
    "level_shift": "a stretch raised or lowered by a constant, which a smooth reconstruction partly follows",
    "flatline": "a stuck sensor, which near a peak or a trough looks almost like the wave itself",
    "noise_burst": "a stretch of extra noise, which looks most like the ordinary noise, only stronger",
}


def compare(value: float, reference: float, lower: str, higher: str, similar: str,
            tolerance: float = 0.03) -> str:
    """``lower`` if ``value`` is clearly (by more than ``tolerance``, relative) below ``reference``,
    ``higher`` if clearly above, else ``similar``."""
    if value < reference * (1 - tolerance):
        return lower
    if value > reference * (1 + tolerance):
        return higher
    return similar


def first_epoch_gap(train_loss: float, val_loss: float) -> str:
    """Lab 01: why the first epoch's validation loss sits where it does against the training loss."""
    why = ("the training number is the average over the whole epoch, including its first steps when the "
           "network still drew blurs, while the validation number is measured once, at the end of the epoch")
    where = f"(training {train_loss:.4f}, validation {val_loss:.4f})"
    if val_loss < train_loss:
        return f"In the first epoch the validation loss is below the training loss {where}: {why}."
    return (f"In the first epoch the validation loss is not below the training loss {where}, although {why}: "
            f"the network improved so little during the epoch that the head start does not show, or the "
            f"validation images are harder than the average training image.")


def noise_removal(mse_noisy: float, mse_clean: float, noise_var: float, input_mse_clean: float) -> str:
    """Lab 02: what the error against the noisy and the clean waves says about the model."""
    if mse_noisy < 0.8 * noise_var:
        return ("its error against the noisy input is clearly below the noise variance, which only a model "
                "that reproduces part of the noise can reach: it copies rather than denoises")
    if mse_clean < 0.5 * input_mse_clean:
        return (f"it reproduces the wave and leaves out most of the noise: its output is "
                f"{input_mse_clean / mse_clean:.1f}x closer to the clean wave than the noisy input is")
    return "it has not reached the noise floor yet; train longer"


def code_size_trend(study: list[dict]) -> str:
    """Lab 02: how the error against the clean wave moved with the code size (rows with ``latent``,
    ``ratio`` and ``mse_clean``)."""
    rows = sorted(study, key=lambda r: r["latent"])
    best, smallest, largest = min(rows, key=lambda r: r["mse_clean"]), rows[0], rows[-1]
    if len(rows) == 1:
        return (f"Only one code size ran in this profile ({best['latent']} numbers), so there is no trend to read; "
                f"the full profile compares several.")
    text = ""
    if smallest["latent"] < 3 and smallest is not best:
        text = (f"With {smallest['latent']} number(s) ({smallest['ratio']:.0f}x compression) the code cannot hold all "
                f"three of a wave's amplitude, frequency and phase. ")
    text += f"The best size here was **{best['latent']}** ({best['ratio']:.1f}x, {best['mse_clean']:.4f}). "
    if best is largest:
        return text + ("The largest code was the best; compare how much it gained over the next size down with the "
                       "compression it gave up.")
    return text + (f"The largest code ({largest['latent']} numbers, {largest['mse_clean']:.4f}) was not: in this budget "
                   f"its extra numbers bought no accuracy, only less compression.")


def hardest_anomaly(kind: str, rate: float) -> str:
    """Lab 02: the anomaly kind detected least often, and what it looks like."""
    return f"The hardest kind was *{kind}* ({rate:.0%} detected): {ANOMALY_LOOKS[kind]}."


def noise_gain(gains: dict[float, float]) -> str:
    """Lab 03: how the denoiser's PSNR gain moved between the lowest and the highest noise level."""
    lo, hi = min(gains), max(gains)
    change = compare(gains[lo], gains[hi],
                     lower="less than at the highest level: the less noise there is, the less there is to win",
                     higher="more than at the highest level, although there was less noise to remove",
                     similar="about the same as at the highest level")
    return f"At sd {lo} the gain is {gains[lo]:.1f} dB, {change}."


def gradient_agreement(max_rel: float) -> str:
    """Lab 04: what a relative difference between two gradient computations says."""
    if max_rel < 1e-5:
        return f"to a relative difference of {max_rel:.1e}, i.e. float32 round-off"
    if max_rel < 1e-3:
        return (f"to a relative difference of {max_rel:.1e}: close, but more than float32 round-off (about 1e-6 "
                f"here), so one term is slightly off; compare each layer's gradient separately")
    return (f"only to a relative difference of {max_rel:.1e}: a term of the backward pass is wrong (a missing "
            f"1/B, a transposed matrix or a forgotten ReLU mask)")


def beta_tradeoff(low: dict, high: dict) -> str:
    """Lab 05: what raising beta did to the KL and the reconstruction terms."""
    kl = compare(high["kl"], low["kl"], "falls", "rises", "stays about the same")
    rec = compare(high["reconstruction"], low["reconstruction"], "falls", "rises", "stays about the same")
    text = (f"From beta = {low['beta']:g} to beta = {high['beta']:g} the KL term {kl} "
            f"({low['kl']:.2f} → {high['kl']:.2f} nats) while the reconstruction term {rec} "
            f"({low['reconstruction']:.2f} → {high['reconstruction']:.2f})")
    if kl == "falls" and rec == "rises":
        return text + ": less information through the code, blurrier reconstructions."
    return (text + ": not the trade-off a stronger KL weight should buy (less information through the code, "
            "blurrier reconstructions), so the study's budget was too short to show it.")


def pooling_conclusion(verdicts: dict[int, str], n_seeds: int) -> str:
    """Lab 06: the verdicts of all depths together, and what they are worth with ``n_seeds`` seeds."""
    clear = [d for d, v in verdicts.items() if not v.startswith("no clear")]
    seeds = (f"With {n_seeds} seeds, all of them on one side happens by chance {2 / 2 ** n_seeds:.0%} of the "
             f"time even when the poolings are equal, and the paired test needs a mean lead of "
             f"{paired_lead_needed(n_seeds):.1f} standard deviations of the differences")
    if clear and len(clear) == len(verdicts) and len(set(verdicts.values())) == 1:
        return (f"At every depth the verdict is the same, **{next(iter(verdicts.values()))}**, by a paired test. "
                f"{seeds}: this conclusion holds for this budget and this network, not in general.")
    if clear:
        return (f"A clear verdict at L = {', '.join(map(str, clear))}; at the other depths the difference is within "
                f"the noise, so no general rule follows from these runs. {seeds}.")
    return (f"At no depth is the difference clear by a paired test: with this budget the runs cannot tell max "
            f"from average pooling. {seeds}.")


def yardstick(results: list[dict], yardstick_psnr: float, yardstick_numbers: int) -> str:
    """Lab 06: which autoencoders beat a no-learning yardstick, and with how many numbers."""
    parts = []
    for r in results:
        side = compare(r["test_psnr"], yardstick_psnr, "below", "above", "level with", tolerance=0.01)
        fewer = "fewer" if r["numbers"] < yardstick_numbers else "more" if r["numbers"] > yardstick_numbers else "as many"
        parts.append(f"the {r['code']} code is {side} it ({r['test_psnr'] - yardstick_psnr:+.1f} dB) with "
                     f"{fewer} numbers ({r['numbers']} against {yardstick_numbers})")
    fair_wins = [r for r in results if r["numbers"] <= yardstick_numbers and r["test_psnr"] > yardstick_psnr * 1.01]
    verdict = ("so a learned code earns its training here" if fair_wins else
               "so no learned code beats the yardstick with no more numbers: the training has not earned its keep "
               "yet (post-lab exercise 5)")
    return "; ".join(parts) + f": {verdict}."


def bias_share(errors) -> float:
    """The part of the mean squared error that is a constant offset: mean(e)**2 / mean(e**2)."""
    errors = np.asarray(errors, np.float64)
    mse = float(np.mean(errors ** 2))
    return float(np.mean(errors) ** 2 / mse) if mse > 0 else 0.0


def bias_or_scatter(errors, who: str) -> str:
    """Lab 07: is a person's error mostly a constant offset (bias) or scatter?"""
    share = bias_share(errors)
    if share >= 0.5:
        return (f"On {who}, {share:.0%} of the mean squared error is bias (a constant offset): the signature "
                f"of a person-specific difference, not of noise.")
    return (f"On {who}, only {share:.0%} of the mean squared error is bias: the errors scatter around the "
            f"truth from window to window rather than sitting at a person-specific offset.")


def depth_effect(code: int, shallow: dict, deep: dict) -> str:
    """Lab 04: what going from 1 to 3 hidden layers did at one code size (3% either way is no change)."""
    verdict = compare(deep["test_mse"], shallow["test_mse"], "**helped**", "**hurt**", "made **no clear difference**")
    return (f"With a {code}-number code, going from 1 to 3 hidden layers {verdict} (MSE {shallow['test_mse']:.5f} → "
            f"{deep['test_mse']:.5f}, parameters {shallow['parameters']:,} → {deep['parameters']:,})")


def size_or_depth(code_effect: float, depth_effect: float, small: int, large: int) -> str:
    """Lab 04: which mattered more, the code size or the depth (both as error ratios)."""
    if code_effect > max(depth_effect, 1 / depth_effect):
        return (f"Over both depths, the {large}-number code has {code_effect:.1f}x lower error than the {small}-number "
                f"code, a bigger effect than depth (a factor of {depth_effect:.2f} on average): the code size sets how "
                f"much information can pass at all, the depth only how curved the mapping into and out of the code "
                f"can be")
    if depth_effect >= 1:
        return (f"Here depth lowered the error by a factor of {depth_effect:.2f} on average, at least as much as the "
                f"larger code ({code_effect:.1f}x): with a small code, a curved mapping into and out of it is what pays")
    return (f"Here depth raised the error by a factor of {1 / depth_effect:.2f} on average, more than the larger code "
            f"lowered it ({code_effect:.1f}x): in this budget the deeper models trained worse")


def greedy_verdict(greedy_mse: float, e2e_mse: float, finetune_epochs: int) -> str:
    """Lab 04: greedy pretraining with fine-tuning against end-to-end training (3% either way is a tie)."""
    gain = (e2e_mse - greedy_mse) / e2e_mse
    if gain > 0.03:
        return (f"greedy pretraining + fine-tuning came out **{gain:.0%} better** than end-to-end training. Before "
                f"crediting the pretraining, check the cost: part of the gain may simply be the extra training the "
                f"greedy route implies; a fair test gives both routes the same time (post-lab exercise 3)")
    if gain < -0.03:
        return (f"greedy pretraining + fine-tuning came out **{-gain:.0%} worse** than end-to-end training: the middle "
                f"layers were pretrained on a local goal (rebuild $h_1$, not the pixels), and {finetune_epochs} epochs "
                f"of fine-tuning did not make up for training the whole stack on the real goal from the start")
    return ("greedy pretraining + fine-tuning and end-to-end training ended **within 3% of each other**: the "
            "pretraining bought nothing measurable")


def smoothness(jumpiness_vae: float, jumpiness_ae: float) -> str:
    """Lab 05: which model's interpolation paths are smoother (lower mean jumpiness; 10% is a tie)."""
    return compare(jumpiness_vae, jumpiness_ae, "the VAE's paths are **smoother**",
                   "the plain autoencoder's paths are **smoother** here", "the two are **about as smooth** by this measure",
                   tolerance=0.1)


def plain_vs_vae_fit(ae_rec: float, vae_rec: float, ae_epochs: int, vae_epochs: int) -> str:
    """Lab 05: the plain autoencoder's reconstruction against the VAE's (mean code), in nats."""
    if ae_rec < vae_rec:
        return (f"The plain autoencoder with the same 2-D code reconstructs to {ae_rec:.2f} nats against {vae_rec:.2f} "
                f"for the VAE decoding its mean code: with no noise on the code and no pull towards the prior, it fits "
                f"the images more closely, even after only {ae_epochs} epochs.")
    return (f"The plain autoencoder, trained for only {ae_epochs} epochs against the VAE's {vae_epochs}, reconstructs to "
            f"{ae_rec:.2f} nats against {vae_rec:.2f} for the VAE decoding its mean code: here the KL term cost no "
            f"reconstruction quality that the shorter-trained autoencoder could show (train it for {vae_epochs} epochs "
            f"to compare on equal terms).")


def best_beta_note(best_beta: float) -> str:
    """Lab 05: whether the true negative ELBO was lowest where theory says (beta = 1)."""
    if best_beta == 1.0:
        return "as it should be: beta = 1 is the weighting that optimises exactly this number"
    return ("not at beta = 1, the weighting that optimises exactly this number: a sign of the study's short "
            "training budget, in which the model with the weaker KL pull simply learned faster"
            if best_beta < 1 else
            "not at beta = 1, the weighting that optimises exactly this number, but at a stronger KL pull: a sign "
            "that the study's short training budget, not the weighting, decided the ranking")


def split_optimism(new_person_rmse: float, random_rmse: float, session_rmse: float | None) -> str:
    """Lab 07: what flatters a random split of the training people's windows (RMSE in m/s)."""
    if new_person_rmse < 1.5 * random_rmse:
        return ("In this run the network is hardly better on its training people than on a new one, so there is "
                "little optimism to explain (train longer, with more windows, to see the gap open).")
    if session_rmse is None:
        return "Without a second session we cannot separate the overlap from the person."
    if session_rmse < 1.5 * random_rmse:
        return (f"A fresh session of the same people scores about the same as the random windows ({session_rmse:.3f} "
                f"against {random_rmse:.3f} m/s), so here the overlap is *not* what flatters the random split: the "
                f"network does not memorise stretches of recording, it knows the people. (The simulator keeps each "
                f"person's sensor mounting and gait fixed between sessions; re-attaching a real sensor on another day "
                f"would add a session-to-session difference.)")
    return (f"A fresh session of the same people scores {session_rmse:.3f} m/s against {random_rmse:.3f} m/s for the "
            f"random windows: part of the optimism is the overlap, the rest is knowing the people.")


def network_vs_experts(net_rmse: float, cadence_rmse: float, features_rmse: float, zupt_rmse: float,
                       margin: float = 0.15) -> str:
    """Lab 07: whether the network earns its place against what a gait analyst tries first (RMSE, m/s).

    The network "wins" against a baseline only when it is at least ``margin`` (relative) below it.
    """
    def verdict(name, value):
        gain = 1 - net_rmse / value
        if gain >= margin:
            return f"it beats {name} ({value:.3f} m/s) by {gain:.0%}"
        if gain > -margin:
            return f"it is within {margin:.0%} of {name} ({value:.3f} m/s), no clear win either way"
        return f"it loses to {name} ({value:.3f} m/s) by {-gain:.0%}"

    parts = [verdict("cadence alone", cadence_rmse), verdict("the four-feature linear model", features_rmse),
             verdict("zero-velocity integration", zupt_rmse)]
    text = f"The network's {net_rmse:.3f} m/s: {'; '.join(parts)}."
    if net_rmse <= (1 - margin) * features_rmse:
        text += (" So six seconds of raw signal tell the network more than the four numbers an analyst would"
                 " pick, even across people: the shape of the swing and the impact carry stride length, which"
                 " cadence does not.")
    else:
        text += (" So with these training people the network has not learned more than four hand-made numbers"
                 " already say: two people are too few examples of how people differ for it to separate speed"
                 " from person, while a linear model with four inputs has little to get wrong.")
    if zupt_rmse < net_rmse:
        text += (" Zero-velocity integration needs no training at all and still does better: it measures each"
                 " stride's length from the physics of the foot (the foot is still once per stride), so a new"
                 " person's step length is no surprise to it. On real sensors its error grows with bias drift,"
                 " a foot that is never quite still and a sensor that slips, which is where learning can help.")
    else:
        text += " It even beats zero-velocity integration, which measures stride length from the physics of the foot."
    return text


def more_people(rmse_two: float, rmse_many: float, n_two: int, n_many: int) -> str:
    """Lab 07: what more training people (with the same number of windows) did to the new-person RMSE."""
    change = 1 - rmse_many / rmse_two
    if change >= 0.1:
        return (f"Training on {n_many} people instead of {n_two}, with the same number of windows, lowers the "
                f"new-person RMSE from {rmse_two:.3f} to {rmse_many:.3f} m/s ({change:.0%}): more people teach the "
                f"network which differences belong to the person and which to the speed.")
    if change > -0.1:
        return (f"Training on {n_many} people instead of {n_two} (same number of windows) leaves the new-person "
                f"RMSE about where it was ({rmse_two:.3f} against {rmse_many:.3f} m/s): here the person-to-person "
                f"differences were not what limited the network, or {n_many} people are still too few.")
    return (f"Training on {n_many} people instead of {n_two} (same number of windows) raises the new-person RMSE "
            f"from {rmse_two:.3f} to {rmse_many:.3f} m/s: fewer windows per person, and people further from the "
            f"test subject, can outweigh the variety; one draw of people is not the final word.")
