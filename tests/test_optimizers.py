"""Update rules: one step by hand, momentum 0 equals vanilla, the decay schedule."""

import numpy as np
import pytest

from twolayer.optimizers import SGD, MomentumSGD, Triangular


def random_params(rng, networks=1):
    return {"a.W": rng.normal(size=(networks, 3, 4)), "a.b": rng.normal(size=(networks, 3, 1))}


def test_vanilla_step_by_hand(rng):
    params = random_params(rng)
    grads = random_params(rng)
    expected = {k: v - 0.1 * grads[k] for k, v in params.items()}
    SGD(0.1).step(params, grads)
    for k in params:
        np.testing.assert_array_equal(params[k], expected[k])


def test_momentum_zero_gives_exactly_the_vanilla_updates(rng):
    vanilla, momentum = random_params(rng), None
    momentum = {k: v.copy() for k, v in vanilla.items()}
    sgd, msgd = SGD(0.3, decay=0.9), MomentumSGD(0.3, momentum=0.0, decay=0.9)
    for _ in range(3):
        for _ in range(4):
            grads = random_params(rng)
            sgd.step(vanilla, grads)
            msgd.step(momentum, grads)
        sgd.end_epoch()
        msgd.end_epoch()
    for k in vanilla:
        np.testing.assert_array_equal(vanilla[k], momentum[k])


def test_momentum_velocity_persists_between_steps(rng):
    theta = {"w": np.zeros((1, 2))}
    g1, g2 = {"w": np.array([[1.0, -2.0]])}, {"w": np.array([[0.5, 0.5]])}
    opt = MomentumSGD(0.1, momentum=0.8)
    opt.step(theta, g1)
    np.testing.assert_allclose(theta["w"], [[-0.1, 0.2]])
    opt.step(theta, g2)
    v2 = 0.8 * np.array([0.1, -0.2]) + 0.1 * np.array([0.5, 0.5])
    np.testing.assert_allclose(theta["w"], [np.array([-0.1, 0.2]) - v2])


@pytest.mark.parametrize("optimizer", [SGD(0.35, decay=0.998), MomentumSGD(0.35, momentum=0.8, decay=0.998)])
def test_decay_schedule_is_lr0_times_decay_to_the_epoch(optimizer):
    for epoch in range(60):
        assert optimizer.learning_rates.tolist() == [0.35 * 0.998**epoch]
        optimizer.end_epoch()


def test_float32_parameters_stay_float32(rng):
    params = {k: v.astype(np.float32) for k, v in random_params(rng).items()}
    grads = {k: v.astype(np.float32) for k, v in random_params(rng).items()}
    MomentumSGD(0.1, 0.8).step(params, grads)
    assert all(p.dtype == np.float32 for p in params.values())


@pytest.mark.parametrize("momentum", [1.0, -0.1, 1.5])
def test_momentum_outside_unit_interval_is_rejected(momentum):
    with pytest.raises(ValueError, match=r"momentum must lie in \[0, 1\)"):
        MomentumSGD(0.1, momentum=momentum)


@pytest.mark.parametrize("learning_rate", [0.0, -0.1, float("nan")])
def test_non_positive_learning_rate_is_rejected(learning_rate):
    with pytest.raises(ValueError, match="learning_rate"):
        SGD(learning_rate)


@pytest.mark.parametrize("decay", [0.0, 1.01])
def test_decay_outside_range_is_rejected(decay):
    with pytest.raises(ValueError, match="decay"):
        SGD(0.1, decay=decay)


def test_repr_names_hyperparameters():
    assert repr(MomentumSGD(0.5, 0.8, 0.998)) == "MomentumSGD(learning_rate=[0.5], decay=0.998, momentum=0.8)"


def test_each_network_moves_at_its_own_rate(rng):
    """Networks side by side: network p's slice of every parameter steps with rate p, as it would alone."""
    params, grads = random_params(rng, networks=3), random_params(rng, networks=3)
    side = {k: v.copy() for k, v in params.items()}
    optimizer = MomentumSGD([0.1, 0.2, 0.3], momentum=0.5, decay=0.9)
    for _ in range(2):
        optimizer.step(side, grads)
        optimizer.end_epoch()
    for p, rate in enumerate([0.1, 0.2, 0.3]):
        alone = {k: v[p : p + 1].copy() for k, v in params.items()}
        single = MomentumSGD(rate, momentum=0.5, decay=0.9)
        for _ in range(2):
            single.step(alone, {k: v[p : p + 1] for k, v in grads.items()})
            single.end_epoch()
        for k in params:
            np.testing.assert_allclose(side[k][p : p + 1], alone[k], rtol=1e-15)
    with pytest.raises(ValueError, match="learning_rate"):
        MomentumSGD([0.1, -0.2], 0.5)


def test_triangular_rate_rises_and_falls_between_its_bounds():
    schedule = Triangular(1e-5, 1e-1, half_cycle=4)
    rates = [schedule.rates(step, epoch=0)[0] for step in range(17)]
    assert rates[0] == rates[8] == rates[16] == pytest.approx(1e-5)
    assert rates[4] == rates[12] == pytest.approx(1e-1)
    assert rates[2] == pytest.approx((1e-5 + 1e-1) / 2)
    assert all(a < b for a, b in zip(rates[:4], rates[1:5])) and all(a > b for a, b in zip(rates[4:8], rates[5:9]))
    assert schedule.cycle_ends(17) == [8, 16]
    assert schedule.rates(3, epoch=0)[0] == schedule.rates(3, epoch=99)[0]  # counted in steps, not epochs


@pytest.mark.parametrize("arguments", [(0.1, 1e-5, 4), (0.0, 0.1, 4), (1e-5, 0.1, 0), (float("nan"), 0.1, 2)])
def test_triangular_refuses_bounds_out_of_order_or_no_steps(arguments):
    with pytest.raises(ValueError):
        Triangular(*arguments)


def test_sgd_takes_each_step_at_its_scheduled_rate(rng):
    schedule = Triangular(0.01, 0.05, half_cycle=2)
    sgd = SGD(schedule=schedule)
    params = {"w": np.zeros((1, 3))}
    for step in range(6):
        grads = {"w": np.ones((1, 3))}
        before = params["w"].copy()
        sgd.step(params, grads)
        np.testing.assert_allclose(before - params["w"], schedule.rates(step, 0)[0])
    assert sgd.steps == 6


def test_an_optimizer_takes_a_rate_or_a_schedule_not_both():
    with pytest.raises(ValueError):
        SGD(0.1, schedule=Triangular(0.01, 0.1, 2))
    with pytest.raises(ValueError):
        SGD()
