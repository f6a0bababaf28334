"""A cancel's SIGTERM stops the work even where its KeyboardInterrupt is swallowed.

CI once saw `sweep exit 137` instead of 130: the SIGTERM arrived while Python ran a finalizer,
whose exception is printed ("Exception ignored in ...") and dropped, so the sweep ran on and the
cancel escalated to SIGKILL. The handler now also sets a flag that the loops check.
"""

import os
import signal

import pytest

from workbench.core import stop


def _swallowed_sigterm() -> None:
    """Deliver SIGTERM where its exception is dropped, as a finalizer's would be."""
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # the handler runs between bytecodes, inside this try
            pass
    except KeyboardInterrupt:
        pass


def test_a_swallowed_interrupt_is_raised_again_at_the_next_check():
    with stop.on_sigterm():
        _swallowed_sigterm()
        assert stop.requested()
        with pytest.raises(KeyboardInterrupt):
            stop.check()
        with pytest.raises(KeyboardInterrupt):  # and at every later one: the work cannot run on
            stop.check()


def test_the_request_ends_with_the_block_and_the_previous_handler_returns():
    before = signal.getsignal(signal.SIGTERM)
    with stop.on_sigterm():
        assert signal.getsignal(signal.SIGTERM) is not before
        _swallowed_sigterm()
    assert not stop.requested()
    stop.check()  # nothing requested: returns
    assert signal.getsignal(signal.SIGTERM) is before


def test_training_stops_before_the_next_step_once_a_stop_is_requested(monkeypatch):
    from workbench.training import trainer

    steps = []

    class Members:
        def steps_per_epoch(self, recipe):
            return 3

        def epoch(self, recipe, epoch):
            return [(None, None)] * 3

    def stepper(inputs, labels, step):
        steps.append(step)
        if step == 4:  # a cancel arrives during the fifth step and its interrupt is lost
            monkeypatch.setattr(stop, "_requested", True)

    with pytest.raises(KeyboardInterrupt):
        trainer.run_epochs(Members(), None, None, 0, 10, after_epoch=lambda e: None, stepper=stepper)
    assert steps == [0, 1, 2, 3, 4]
