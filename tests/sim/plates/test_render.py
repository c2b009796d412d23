from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from protocol.plates import match_plate, match_two_rows, two_row_layout
from sim.errors import RenderError
from sim.plates import (
    CONDITIONS,
    FORMATS,
    HEIGHT,
    WIDTH,
    plate_dataset,
    random_plate,
    render_car_frame,
    sample_condition,
    text_zone_quads,
    text_zones,
    write_dataset,
)


def _inside(quad: tuple[tuple[float, float], ...]) -> bool:
    return all(0 <= x < WIDTH and 0 <= y < HEIGHT for x, y in quad)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_random_plate_fits_its_grammar(fmt: str) -> None:
    country = FORMATS[fmt].country
    rng = np.random.default_rng(len(fmt))
    for _ in range(300):
        text, got = random_plate(rng, country, fmt)
        assert got == fmt
        found = match_plate(text, [country])
        assert found is not None, text
        assert (found.text, found.format, found.fixes) == (text, fmt, 0)


@pytest.mark.parametrize("country", ["KZ", "RU", "KG", "UZ"])
def test_random_plate_without_a_format_draws_the_countrys_formats(country: str) -> None:
    rng = np.random.default_rng(5)
    seen = {random_plate(rng, country)[1] for _ in range(400)}
    assert seen == {f.id for f in FORMATS.values() if f.country == country}


def test_two_row_rows_read_back_through_the_grammar() -> None:
    rng = np.random.default_rng(9)
    for fmt in ("kz_2012", "kz_org", "kz_1993", "uz_moto"):
        text, _ = random_plate(rng, FORMATS[fmt].country, fmt)
        found = match_plate(text, [FORMATS[fmt].country])
        assert found is not None
        top, bottom = two_row_layout(found)
        again = match_two_rows(top, bottom, [FORMATS[fmt].country])
        assert again is not None and again.text == text


@pytest.mark.parametrize("condition", CONDITIONS)
def test_frame_shape_truth_and_quad_inside(condition: str) -> None:
    for seed in range(6):
        rng = np.random.default_rng(seed)
        text, fmt = random_plate(rng, "KZ")
        frame, truth = render_car_frame(f" {text.lower()} ", rng, "KZ", fmt, condition, rows=1 + seed % 2)
        assert frame.shape == (HEIGHT, WIDTH, 3) and frame.dtype == np.uint8 and frame.flags.c_contiguous
        assert (truth.text, truth.country, truth.format, truth.rows) == (text, "KZ", fmt, 1 + seed % 2)
        assert truth.condition.name == condition
        assert _inside(truth.quad)
        for other in truth.others:
            assert _inside(other.quad)
            assert match_plate(other.text, [other.country]) is not None


def test_plate_sizes_follow_the_condition() -> None:
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        _, truth = render_car_frame("123ABC02", rng, condition="lowres")
        w = truth.bbox[2]
        assert 70 <= w <= 215
        _, truth = render_car_frame("123ABC02", rng, condition="tilt")
        tl, tr, _, _ = truth.quad
        assert abs(np.degrees(np.arctan2(tr[1] - tl[1], tr[0] - tl[0]))) <= 30


def test_same_generator_state_gives_the_same_frame() -> None:
    for condition in CONDITIONS:
        a, ta = render_car_frame("123ABC02", np.random.default_rng(7), condition=condition)
        b, tb = render_car_frame("123ABC02", np.random.default_rng(7), condition=condition)
        c, _ = render_car_frame("123ABC02", np.random.default_rng(8), condition=condition)
        assert np.array_equal(a, b) and ta == tb
        assert not np.array_equal(a, c)


def test_foreign_formats_render() -> None:
    rng = np.random.default_rng(11)
    for fmt in sorted(FORMATS):
        country = FORMATS[fmt].country
        text, _ = random_plate(rng, country, fmt)
        frame, truth = render_car_frame(text, rng, country, fmt, "day")
        assert truth.format == fmt and _inside(truth.quad)
        assert frame.shape == (HEIGHT, WIDTH, 3)


@pytest.mark.parametrize(
    ("text", "country", "fmt", "condition", "rows"),
    [
        ("123ABC99", "KZ", "kz_2012", "day", 1),  # region 99 does not exist
        ("123ABC02", "KZ", "kz_unknown", "day", 1),
        ("123ABC02", "RU", "kz_2012", "day", 1),  # format of another country
        ("123ABC02", "KZ", "kz_2012", "fog", 1),
        ("123ABC02", "KZ", "kz_2012", "day", 3),
        ("", "KZ", "kz_2012", "day", 1),
    ],
)
def test_bad_input_is_a_clear_error(text: str, country: str, fmt: str, condition: str, rows: int) -> None:
    with pytest.raises(RenderError):
        render_car_frame(text, np.random.default_rng(0), country, fmt, condition, rows=rows)


def test_condition_object_is_used_as_given() -> None:
    cond = sample_condition(np.random.default_rng(3), "night")
    _, truth = render_car_frame("A123BCD", np.random.default_rng(4), "KZ", "kz_1993", cond)
    assert truth.condition is cond


def test_dataset_is_balanced_and_deterministic() -> None:
    samples = list(plate_dataset(18, np.random.default_rng(1), mix={"kz_2012": 2, "ru": 1}))
    again = list(plate_dataset(18, np.random.default_rng(1), mix={"kz_2012": 2, "ru": 1}))
    assert [s.truth for s in samples] == [s.truth for s in again]
    assert sorted(s.truth.format for s in samples) == ["kz_2012"] * 12 + ["ru"] * 6
    names = [s.truth.condition.name for s in samples]
    assert all(names.count(c) == 2 for c in CONDITIONS)
    with pytest.raises(RenderError):
        plate_dataset(3, np.random.default_rng(1), mix={"nope": 1.0})


def test_write_dataset_in_openalpr_endtoend_format(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    samples = list(plate_dataset(3, np.random.default_rng(2)))
    assert write_dataset(folder, samples) == 3
    lines = sorted(p.read_text(encoding="utf-8") for p in folder.glob("*.txt"))
    name, x, y, w, h, text = lines[0].rstrip("\n").split("\t")
    assert (folder / name).is_file() and int(x) >= 0 and int(y) >= 0 and int(w) > 0 and int(h) > 0
    assert text in {s.truth.text for s in samples}
    with pytest.raises(RenderError):
        write_dataset(folder, samples)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_text_zones_hold_the_plate_in_reading_order(fmt: str) -> None:
    country = FORMATS[fmt].country
    text, _ = random_plate(np.random.default_rng(21), country, fmt)
    for rows in (1, 2):
        zones = text_zones(text, FORMATS[fmt], rows)
        joined = [chars for chars, _ in zones]
        found = (
            match_plate("".join(joined), [country])
            if rows == 1
            else match_two_rows(joined[0], "".join(joined[1:]), [country])
        )
        assert found is not None and found.text == text
        _, truth = render_car_frame(text, np.random.default_rng(22), country, fmt, "tilt", rows=rows)
        for _, quad in text_zone_quads(truth):
            assert _inside(quad)
