"""How hard is a new person, over many draws of simulated people? Lab 07's baselines (and optionally its network).

Each draw takes three people from the simulated population, trains on two and tests on the third,
as lab 07 does with subjects 1 + 2 and 4; a leave-one-subject-out run over eight people follows.
Printed: RMSE (m/s) of the training mean, cadence alone (walk/run lines), the four hand features
(one linear model per gait) and zero-velocity integration, with median and 10-90 % range.

    python scripts/imu_draws.py [--draws 20] [--windows 30] [--network --epochs 15]

``--network`` also trains lab 07's conv + LSTM per draw (slow on a CPU).
"""

from __future__ import annotations

import argparse

import numpy as np

from labkit import gait, imu

RUN_CADENCE = 150.0


def _lines(F, y):
    fill = np.nanmedian(F, axis=0)
    F = np.where(np.isfinite(F), F, fill)
    coef = {}
    for running in (False, True):
        side = (F[:, 0] >= RUN_CADENCE) == running
        if side.sum() <= F.shape[1] + 1:
            side = np.ones(len(F), bool)
        coef[running] = np.linalg.lstsq(np.c_[F[side], np.ones(side.sum())], y[side], rcond=None)[0]

    def predict(G):
        G = np.c_[np.where(np.isfinite(G), G, fill), np.ones(len(G))]
        return np.where(G[:, 0] >= RUN_CADENCE, G @ coef[True], G @ coef[False])
    return predict


def _network(train, test, epochs, seed=0):
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    X = train.X.astype(np.float64)
    model = keras.Sequential([
        keras.Input(shape=(imu.WINDOW, 6)),
        layers.Normalization(mean=X.mean(axis=(0, 1)), variance=X.var(axis=(0, 1))),
        layers.Conv1D(32, 8, strides=4, activation="relu"),
        layers.Conv1D(64, 5, strides=4, activation="relu"),
        layers.LSTM(48),
        layers.Dense(1, bias_initializer=keras.initializers.Constant(float(train.speed_mps.mean()))),
    ])
    steps = epochs * int(np.ceil(len(X) / 32))
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps)), loss="mse")
    model.fit(train.X, train.speed_mps, epochs=epochs, batch_size=32, verbose=0)
    return model.predict(test.X, batch_size=512, verbose=0).ravel()


def evaluate(train_ids, test_ids, windows, network=False, epochs=15) -> dict:
    data = imu.simulate_subjects(list(train_ids) + list(test_ids), windows_per_speed=windows)
    tr, te = np.isin(data.subject, train_ids), np.isin(data.subject, test_ids)
    F = gait.hand_features(data.X)
    y = data.speed_mps.astype(np.float64)

    def rmse(p):
        return float(np.sqrt(np.mean((np.asarray(p, np.float64) - y[te]) ** 2)))

    out = {"mean": rmse(np.full(te.sum(), y[tr].mean())),
           "cadence": rmse(_lines(F[tr][:, :1], y[tr])(F[te][:, :1])),
           "features": rmse(_lines(F[tr], y[tr])(F[te]))}
    z = gait.zupt_speed(data.X[te])
    out["zupt"] = rmse(np.where(np.isfinite(z), z, y[tr].mean()))
    if network:
        take = lambda m: imu.ImuData(X=data.X[m], speed_mps=data.speed_mps[m], subject=data.subject[m])  # noqa: E731
        out["network"] = rmse(_network(take(tr), take(te), epochs))
    return out


def summary(rows: list[dict], title: str) -> None:
    keys = list(rows[0])
    values = np.array([[r[k] for k in keys] for r in rows])
    print(f"\n{title}: {len(rows)} runs")
    print("  " + "".join(f"{k:>12}" for k in ("",) + tuple(keys)))
    for name, stat in (("median", np.median(values, 0)), ("10 %", np.percentile(values, 10, 0)),
                       ("90 %", np.percentile(values, 90, 0))):
        print("  " + f"{name:>12}" + "".join(f"{v:>12.3f}" for v in stat))
    if "network" in keys:
        order = [(r["network"] <= 0.85 * r["features"]) and (r["features"] < r["cadence"]) for r in rows]
        print(f"  network >= 15 % below features and features below cadence in {sum(order)} of {len(rows)}")
    else:
        print(f"  features below cadence in {sum(r['features'] < r['cadence'] for r in rows)} of {len(rows)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--windows", type=int, default=30, help="windows per subject and speed")
    parser.add_argument("--loso", type=int, default=8, help="people in the leave-one-subject-out run (0: skip)")
    parser.add_argument("--network", action="store_true")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    rows = []
    for _ in range(args.draws):
        ids = rng.choice(np.arange(1, 1001), 3, replace=False).tolist()
        rows.append(evaluate(ids[:2], ids[2:], args.windows, args.network, args.epochs))
        print(f"train {ids[:2]}, test {ids[2]}: " + ", ".join(f"{k} {v:.3f}" for k, v in rows[-1].items()), flush=True)
    summary(rows, "train 2 / test 1")
    if args.loso:
        people = list(range(1, args.loso + 1))
        loso = [evaluate([p for p in people if p != s], [s], args.windows, args.network, args.epochs) for s in people]
        for s, r in zip(people, loso):
            print(f"leave out {s}: " + ", ".join(f"{k} {v:.3f}" for k, v in r.items()))
        summary(loso, f"leave one subject out over subjects 1-{args.loso}")


if __name__ == "__main__":
    main()
