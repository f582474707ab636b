"""The py-spy summary used for docs/performance.md: stacks parsed, samples charged to the right places."""

from __future__ import annotations

from bench.profiles import cost_shares, cumulative_counts, package_of, parse_raw, self_counts, within

RAW = [
    'process 1:"python -m bot";thread (0x1);run (asyncio/base_events.py);'
    "feed_update (aiogram/dispatcher/dispatcher.py);request (httpx/_client.py) 3",
    'process 1:"python -m bot";thread (0x1);run (asyncio/base_events.py);'
    "feed_update (aiogram/dispatcher/dispatcher.py);__call__ (bot/middlewares.py);format (logging/__init__.py) 2",
    'process 1:"python -m bot";thread (0x1);_run_once (asyncio/base_events.py);EpollSelector.select (selectors.py) 5',
    "not a stack line",
]


def test_parse_raw_keeps_python_frames_and_counts_when_lines_carry_process_and_thread_labels() -> None:
    stacks = parse_raw(RAW)

    assert [stack.samples for stack in stacks] == [3, 2, 5]
    assert stacks[0].frames[0] == ("run", "asyncio/base_events.py")
    assert stacks[0].frames[-1] == ("request", "httpx/_client.py")


def test_package_of_names_project_modules_two_deep_when_the_path_is_the_projects() -> None:
    assert package_of("bot/middlewares.py") == "bot/middlewares"
    assert package_of("/work/.venv/lib/python3.11/site-packages/aiogram/dispatcher/router.py") == "aiogram"
    assert package_of("asyncio/base_events.py") == "asyncio"


def test_counts_charge_self_to_the_innermost_frame_and_cumulative_once_per_stack_when_packages_repeat() -> None:
    stacks = parse_raw(RAW)

    assert self_counts(stacks, "package") == {"httpx": 3, "logging": 2, "selectors": 5}
    assert cumulative_counts(stacks, "package")["asyncio"] == 10
    assert cumulative_counts(stacks, "package")["aiogram"] == 5


def test_cost_shares_count_a_sample_inside_each_named_cost_when_its_stack_passes_through_it() -> None:
    shares = cost_shares(parse_raw(RAW))

    assert shares["httpx / httpcore (the API client)"] == 3
    assert shares["logging (records, formatting, JSON)"] == 2
    assert shares["epoll select (kernel, or runnable waiting for a core)"] == 5
    assert shares["the asyncio event loop's own Python code"] == 0
    assert shares["redis client"] == 0


def test_within_keeps_only_stacks_through_the_function_when_one_is_named() -> None:
    stacks = parse_raw(RAW)

    assert [stack.samples for stack in within(stacks, "feed_update")] == [3, 2]
    assert within(stacks, None) == stacks
