"""A person whose mood follows their money: two states, two events, one guard."""

from __future__ import annotations

from typing import Any

from fsm_recorder import Event, State, StateMachine


class Happy(State):
    """Money in the pocket."""


class Sad(State):
    """Broke, for now."""

    def on_enter(self, machine: Any, *args: Any, **kwargs: Any) -> None:
        machine.sad_days += 1


class LoseMoney(Event):
    """Spending or losing money makes a happy person sad."""

    source = Happy
    dest = Sad

    def before(self, machine: Any, amount: int = 0, **kwargs: Any) -> None:
        machine.balance -= amount


class GainMoney(Event):
    """Earning money cheers a sad person up, if it is enough to cover the debt."""

    source = Sad
    dest = Happy

    def before(self, machine: Any, amount: int = 0, **kwargs: Any) -> None:
        machine.balance += amount

    def condition(self, machine: Any, amount: int = 0, **kwargs: Any) -> bool:
        return machine.balance + amount >= 0


class Mood(StateMachine):
    """The machine: happy or sad, driven by money coming and going."""

    state_classes = (Happy, Sad)
    event_classes = (LoseMoney, GainMoney)
    initial_state = Happy

    def __init__(self, balance: int = 0, **kwargs: Any) -> None:
        self.balance = balance
        self.sad_days = 0
        kwargs.setdefault("record_args", {"lose_money": ["amount"], "gain_money": ["amount"]})
        super().__init__(**kwargs)
