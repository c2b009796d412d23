"""The lane's plate reader: trigger → localise → recognise → (detect → recognise) → grammar → vote.

    camera thread   offer(frame)  — never blocks: the newest frame replaces one not yet taken
    plate thread    newest frame → trigger (idle: ~0.3 ms and nothing else)
                    1. localise: OpenCV's candidates in the lane (``find_plates``, a few ms) read with the
                       plate-trained recogniser (``PlateOcr``); no sure read, or only small ones: all again on
                       the frame equalised, then deblurred (``_read``: rendered plates need these looks)
                    2. no sure read: the same crops read with PP-OCRv4's recogniser (``ppocr``: real photos)
                    3. still none: PP-OCRv4's detector on the lane (``TextDetector``), its text boxes grouped
                       into plates (``group.plate_lines``), read with PP-OCRv4's recogniser
                    → grammar-constrained decoding (``read_plate``) → ``rank`` → PlateVote → on_result

Each step runs only when the ones before it read nothing surely: a rendered or clean plate costs the
localiser and a small recogniser pass; a real photo the localiser misses costs the detector (30–120 ms).
The recognisers and the detector are one ``PlateOcr``, which lanes may share.

OCR (tens of milliseconds a frame) runs on the plate thread, so the camera thread's QR decoding and the
card readers never wait on it. While a vehicle stands in the lane, ``votes_needed`` frames agreeing on
one plate within ``vote_window_s`` accept it; ``no_read_after_s`` without agreement is a no-read that
carries the best crop seen, for the ranger to read by eye.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from gate.errors import GateError
from gate.plates.deblur import deblur, motion_blur
from gate.plates.decode import Probs, best_path, constrained, layouts
from gate.plates.group import PlateLine, plate_lines, side_by_side
from gate.plates.localise import (
    Image,
    PlateCandidate,
    Quad,
    char_crop,
    equalise,
    find_plates,
    quad_overlap,
    rectify,
    row_crop,
    to_gray,
)
from gate.plates.ocr import PlateOcr
from gate.plates.settings import PlateSettings, roi_box
from gate.plates.trigger import VehicleTrigger, make_trigger
from protocol.plates import GENERIC_COUNTRY, PlateMatch, match_plate, match_printed_rows

log = logging.getLogger(__name__)
GENERIC_SURE_LENGTH = 5  # generic reads shorter than this never clear the bar alone
GENERIC_OVER = 0.9  # in generic mode a country read this sure is not second-guessed by the greedy read
# a generic read has no grammar to catch a misread character: it is sure only when its least sure character
# is this sure. Chosen on lpr-dev's tuning half (bench lpr --half tune) with PP-OCRv4 reading: of the 34 best
# reads whose weakest character was 0.95 or surer, 2 were wrong (0.950, and 0.982: another car's plate) and 32
# right; from 0.985 none was wrong. Never chosen on the measured half.
GENERIC_CHAR_SURE = 0.985
# the car at the barrier is the nearest: its plate's characters are the tallest in view; a plate whose
# characters are much smaller belongs to a car further off (queued, parked, the next lane) and is not read
NEAREST_SHARE = 0.7
# a plate read with characters NEARER times taller than a confident read's, even unsurely, shows that read to
# be a car's behind the barrier car: it is dropped. Only reads at least NEAR_READ sure count, or text lines
# PP-OCRv4's detector found (it tells text from grilles and lamps; a smeared plate's read is as unsure): with any read
# counting, grille, lamp and badge "reads" dropped the right plate in 274 of 1,100 rendered frames; at 0.05 a
# headlight read 0.055 sure and a windscreen 0.092 still did (2 of 3,000 frames; at 0.15 neither did, and no
# background car's plate was accepted the more)
NEAR_READ = 0.15
NEARER = 1.5  # characters this much taller than a confident read's may be a nearer plate: still read
# a read overlapping a confident read's place by this share of the smaller is the same plate seen otherwise
# (rows or a blob, the frame or its equalised look measure its characters differently), never a nearer one
SAME_PLACE = 0.5
# a confident read is checked on its crop nudged this share of its height up and down (a pixel or two at the
# recogniser's 32 px); read otherwise either time, it is doubted (``doubted``: its confidence set between
# UNSTEADY times the bar and halfway on to the bar, the surer read higher): never accepted alone, yet still
# above the frame's other unsure reads (it is still the likeliest). On 3,000 rendered frames this took
# confident wrong reads from 10 to 6 and read as many frames right.
# Reads STEADY_BELOW sure or surer are not checked: 87 % of frames, and every misread a nudge exposed there
# was under 0.99 (the check costs two more recogniser passes)
STEADY_NUDGE = 0.04
UNSTEADY = 0.99
STEADY_BELOW = 0.999
# a confident read that another read of its place at least this sure contradicts is doubted as a nudged one is
# (on 6,000 rendered frames every contradicting read was over 0.9: the frame's crops of one plate, as rows or
# with a guessed second row, each surely wrong about a character blur or mud hides)
CONTRADICTS = 0.9
# a frame whose confident reads all have characters smaller than this is looked at again too: such a read may
# be a car's behind a barrier car the first look missed (its plate washed out or smeared); the second look
# finds the nearer plate, and ``rank`` drops the far read. On 6,000 rendered frames the five background
# plates read surely at the first look had characters 9–16 px high; a barrier car's, seen as hardware.md
# sets the camera, some 20 px
LOOK_AGAIN_PX = 18.0
# PP-OCRv4 misses a plate's region box or a character more often than the plate-trained recogniser on
# rendered plates, and a plate short of its region is often another format's whole plate (RU H080YH56 read as
# KZ 1993 H080YH): its country reads are sure only from this confidence. Chosen on rendered seeds 77 and 78
# (1,600 frames, not the benchmark's): of its 47 best reads at 0.95 or surer, 3 were wrong (0.968, 0.972,
# 0.992), none at 0.993 or surer (21 right)
LEARNED_SURE = 0.993


@dataclass(frozen=True)
class PlateResult:
    """One vehicle's outcome: an accepted plate, or ``plate=None`` (a no-read for the ranger)."""

    plate: str | None
    country: str | None
    format: str | None
    confidence: float
    crop: Image | None
    votes: int


@dataclass(frozen=True)
class PlateRead:
    """One frame's reading of one candidate; ``detected``: of a text line PP-OCRv4's detector found."""

    match: PlateMatch
    confidence: float
    quad: Quad
    crop: Image
    detected: bool = False


Seen = tuple[float, bool, PlateRead]  # one candidate's read: its character height, whether sure, the read


@dataclass
class PlateVote:
    """Agreement across frames while one vehicle stands in the lane (pure: time is passed in).

    ``add`` returns the accepted result once ``votes_needed`` reads of one text at or above
    ``min_confidence`` fall within ``window_s``; ``expire`` returns the no-read once ``no_read_after_s``
    have passed since the vehicle arrived without acceptance. Each vehicle gets one result; ``reset``
    when the lane is empty again.
    """

    votes_needed: int = 2
    window_s: float = 3.0
    no_read_after_s: float = 6.0
    min_confidence: float = PlateSettings.min_confidence
    started: float | None = None
    decided: bool = False
    _reads: list[tuple[float, PlateRead]] = field(default_factory=list)
    _best_crop: tuple[float, Image] | None = None

    @classmethod
    def from_settings(cls, settings: PlateSettings) -> PlateVote:
        return cls(settings.votes_needed, settings.vote_window_s, settings.no_read_after_s, settings.min_confidence)

    def begin(self, now: float) -> None:
        """The vehicle arrived (the first active frame)."""
        if self.started is None:
            self.started = now

    def offer_crop(self, crop: Image, score: float) -> None:
        """A crop worth showing the ranger should nothing be accepted (highest score kept)."""
        if self._best_crop is None or score > self._best_crop[0]:
            self._best_crop = (score, crop)

    def add(self, read: PlateRead, now: float) -> PlateResult | None:
        self.begin(now)
        self.offer_crop(read.crop, 10.0 + read.confidence)  # a crop that read as a plate beats any other
        if self.decided or read.confidence < self.min_confidence:
            return None
        self._reads = [(t, r) for t, r in self._reads if now - t <= self.window_s]
        self._reads.append((now, read))
        same = [r for _, r in self._reads if r.match.text == read.match.text]
        if len(same) < self.votes_needed:
            return None
        self.decided = True
        best = max(same, key=lambda r: r.confidence)
        return PlateResult(
            best.match.text, best.match.country, best.match.format, best.confidence, best.crop, len(same)
        )

    def expire(self, now: float) -> PlateResult | None:
        if self.decided or self.started is None or now - self.started < self.no_read_after_s:
            return None
        self.decided = True
        texts = Counter(r.match.text for _, r in self._reads)
        votes = max(texts.values()) if texts else 0
        crop = self._best_crop[1] if self._best_crop is not None else None
        return PlateResult(None, None, None, 0.0, crop, votes)

    def reset(self) -> None:
        self.started = None
        self.decided = False
        self._reads = []
        self._best_crop = None


class PlateReader:
    """A vehicle lane's plate reader. ``start()`` runs its thread; ``offer(frame)`` hands it frames.

    ``ocr`` may be shared (one model in memory for several lanes); by default one is made and loaded at
    ``start()``. ``on_result`` runs on the plate thread.
    """

    def __init__(
        self,
        settings: PlateSettings,
        on_result: Callable[[PlateResult], None],
        ocr: PlateOcr | None = None,
        pin_factory: Any | None = None,
        trigger: VehicleTrigger | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.on_result = on_result
        self.ocr = ocr if ocr is not None else PlateOcr(recogniser=settings.recogniser)
        self._trigger = trigger if trigger is not None else make_trigger(settings, pin_factory)
        self._clock = clock
        self._vote = PlateVote.from_settings(settings)
        self._frame: Image | None = None
        self._ready = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.frames_offered = 0
        self.frames_read = 0
        self.frames_dropped = 0
        self.results = 0
        self.frames_detected = 0  # frames that needed PP-OCRv4's detector
        self.error: str | None = None

    # -- the camera side

    def offer(self, frame: Image) -> None:
        """Hand over a frame without waiting; a frame not yet taken is dropped for the newer one."""
        with self._ready:
            if self._frame is not None:
                self.frames_dropped += 1
            self._frame = frame
            self.frames_offered += 1
            self._ready.notify()

    # -- life cycle

    def start(self) -> None:
        if self._thread is not None:
            return
        self.ocr.load(self.settings.learned)  # a minute-one car must not wait for the models
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="gate-plates", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._ready:
            self._ready.notify_all()
        if self._thread is not None:
            self._thread.join(10.0)
            self._thread = None
        self._trigger.close()

    def _take(self, timeout: float) -> Image | None:
        with self._ready:
            if self._frame is None:
                self._ready.wait(timeout)
            frame, self._frame = self._frame, None
            return frame

    def _run(self) -> None:
        while not self._stop.is_set():
            frame = self._take(0.2)
            if frame is None:
                continue
            try:
                self.process(frame, self._clock())
            except GateError as err:
                # one bad frame or an OCR hiccup must not end the lane's plate reading
                self.error = str(err)
                log.error("plate reader: %s", err)

    def process(self, frame: Image, now: float) -> PlateResult | None:
        """One frame through trigger, reading and vote (the plate thread's step; tests call it directly)."""
        if not self._trigger.update(frame, now):
            if self._vote.started is not None:
                self._vote.reset()  # the lane is empty again: the next vehicle starts fresh
            return None
        self._vote.begin(now)
        if self._vote.decided:
            return None
        self.frames_read += 1
        result: PlateResult | None = None
        reads, candidates = self._read(frame)
        if reads:
            for read in reads[:1]:  # the best-ranked plate: the vehicle at the barrier
                result = self._vote.add(read, now)
        elif candidates:
            self._vote.offer_crop(rectify(frame, candidates[0].quad), candidates[0].score)
        if result is None:
            result = self._vote.expire(now)
        if result is not None:
            self.results += 1
            try:
                self.on_result(result)
            except Exception:  # a listener's bug must not stop plate reading for the next car
                log.exception("plate result listener failed")
        return result

    # -- reading

    def read_frame(self, frame: Image) -> list[tuple[PlateMatch, float, Quad]]:
        """The plates in one frame (no trigger, no vote): match, confidence and outline quad, best first."""
        reads, _ = self._read(frame)
        return [(r.match, r.confidence, r.quad) for r in reads]

    def _read(self, frame: Image) -> tuple[list[PlateRead], list[PlateCandidate]]:
        """The frame's reads, best first (see ``rank``), and its candidates.

        Where country grammars check the reads, a frame with no sure read, or only small ones
        (``LOOK_AGAIN_PX``), is looked at again with its contrast equalised (``equalise``): a plate washed out by
        headlights or smeared by motion is often found and read only there; still no sure read, a third time
        with its motion blur undone (``unblurred``). In generic mode neither: with no grammar to check them,
        the equalised look read 5 fewer of lpr-dev's 111 tuning photos right (68 → 63) and the deblurred one
        made up characters. Every look's reads join, so a nearer plate read unsurely in one still drops a
        background car's read in another, and all reads of one place must agree. These looks remain because
        PP-OCRv4 does not replace them on rendered plates: without them 96.6 % of the synthetic set read
        exactly instead of 97.9 %, and 1.2 % were accepted wrong instead of 0.8 %.

        Then PP-OCRv4 (``settings.learned``), still only while no near plate reads surely: its recogniser on
        the same candidates, then its detector on the lane (``_detected_lines``). A frame read surely at the first
        look (nearly every rendered one) costs nothing more."""
        seen, candidates = self._look(frame)
        agreed = self._agreed(seen)
        if self.settings.countries and not _read_near_surely(agreed):
            again, again_candidates = self._look(equalise(frame))
            seen += again
            agreed = self._agreed(seen)
            if not any(sure for _, sure, _ in agreed) and candidates:
                sharp, _ = self._look(unblurred(frame, candidates))
                seen += sharp
                agreed = self._agreed(seen)
            candidates += again_candidates
        if self.settings.learned and not _read_near_surely(agreed):
            near = nearest(candidates, self.settings.min_char_px)
            agreed += self._learned_reads(frame, near, [line_crop(frame, c, cut=False) for c in near])
            if not _read_near_surely(agreed):
                self.frames_detected += 1
                lines = self._detected_lines(frame)
                agreed += self._learned_reads(frame, lines, [line.crop(frame) for line in lines], detected=True)
        return rank(agreed), candidates

    def _look(self, frame: Image) -> tuple[list[Seen], list[PlateCandidate]]:
        """The nearest candidates in the lane read best first until one is a confident plate (the rest are
        usually not plates), and on past it only where ``worth_reading`` says: characters much taller than
        its own may still be a nearer plate (a background car's plate found as clean rows outranks the
        barrier car's found only as a blob), and a read not sure enough to stand alone gets a second opinion
        from the other crops of its place."""
        x0, y0, x1, y1 = roi_box(self.settings.roi, frame.shape)
        in_lane = [
            c
            for c in find_plates(frame, self.settings.max_candidates)
            if x0 <= c.quad[:, 0].mean() <= x1 and y0 <= c.quad[:, 1].mean() <= y1
        ]
        candidates = nearest(in_lane, self.settings.min_char_px)
        seen: list[Seen] = []
        for candidate in candidates:
            if not worth_reading(candidate, seen):
                continue
            read = self._read_candidate(frame, candidate)
            if read is not None:
                seen.append((candidate.char_px, read.confidence >= self.settings.min_confidence, read))
        return seen, candidates

    def _learned_reads(
        self, frame: Image, places: Sequence[PlateCandidate | PlateLine], crops: list[Image], detected: bool = False
    ) -> list[Seen]:
        """``crops`` of ``places`` (the localiser's candidates, or the detector's lines) read by PP-OCRv4's
        recogniser in one batch."""
        seen: list[Seen] = []
        for place, probs in zip(places, self.ocr.text.probabilities(crops), strict=True):
            match, confidence = self._learned_read(probs, place.two_row)
            if match is not None:
                read = PlateRead(match, confidence, place.quad, rectify(frame, place.quad), detected=detected)
                seen.append((place.char_px, confidence >= self.settings.min_confidence, read))
        return seen

    def _detected_lines(self, frame: Image) -> list[PlateLine]:
        """PP-OCRv4's detector on the lane at ``detector_side`` px, its boxes grouped into plate lines: the
        tallest ``max_lines``."""
        x0, y0, x1, y1 = roi_box(self.settings.roi, frame.shape)
        boxes = self.ocr.detector.detect(frame[y0:y1, x0:x1], self.settings.detector_side)
        offset = np.array([x0, y0], dtype=np.float32)
        return plate_lines([(quad + offset, score) for quad, score in boxes])[: self.settings.max_lines]

    def _learned_read(self, probs: Probs, two_row: bool) -> tuple[PlateMatch | None, float]:
        """PP-OCRv4's output read as a plate: a country read under ``LEARNED_SURE`` is doubted (see there)."""
        match, confidence = read_plate(probs, self.settings.countries, self.settings.generic, two_row)
        if match is not None and match.country != GENERIC_COUNTRY and confidence < LEARNED_SURE:
            confidence = doubted(confidence, self.settings.min_confidence)
        return match, confidence

    def _agreed(self, seen: list[Seen]) -> list[Seen]:
        """The reads, each confident one that another read of its place contradicts (``contradicted``) set
        just under the bar as a read a nudge changes: the frame's crops of one plate, as rows or with a
        guessed second row, in any look, disagree where blur or mud hide a character."""
        bar = self.settings.min_confidence
        return [
            (px, False, replace(read, confidence=doubted(read.confidence, bar)))
            if sure and contradicted(read, seen)
            else (px, sure, read)
            for px, sure, read in seen
        ]

    def _read_candidate(self, frame: Image, candidate: PlateCandidate) -> PlateRead | None:
        crop_line = line_crop(frame, candidate, cut=self.ocr.recogniser == "easyocr")
        probs = self.ocr.probabilities([crop_line])[0]
        match, confidence = read_plate(probs, self.settings.countries, self.settings.generic, candidate.two_row)
        if match is None:
            return None
        checked = self.settings.min_confidence <= confidence < STEADY_BELOW
        if checked and not self._steady(crop_line, match.text, candidate.two_row):
            confidence = doubted(confidence, self.settings.min_confidence)
        crop = rectify(frame, candidate.quad)
        return PlateRead(match, float(confidence), candidate.quad, crop)

    def _steady(self, crop_line: Image, text: str, two_row: bool) -> bool:
        """Whether the crop nudged ``STEADY_NUDGE`` of its height up and down reads ``text`` both times.
        Through mud or motion blur the recogniser can be sure of a wrong character, and that certainty
        rarely survives a nudge of a pixel or two; a plate truly read stays read."""
        rows = max(1, round(STEADY_NUDGE * crop_line.shape[0]))
        nudged = [nudge(crop_line, rows), nudge(crop_line, -rows)]
        for probs in self.ocr.probabilities(nudged):
            match, _ = read_plate(probs, self.settings.countries, self.settings.generic, two_row)
            if match is None or match.text != text:
                return False
        return True


def doubted(confidence: float, bar: float) -> float:
    """A doubted read's confidence: just under the bar, the surer still first among the doubted (the frame's
    best guess; on 6,000 rendered frames one confidence for all doubted reads put a wrong guess first in 12
    frames and a right one in 2, mostly where the deblurred look read right after a blurred look's guess)."""
    return bar * (UNSTEADY + (1.0 - UNSTEADY) / 2 * confidence)


def unblurred(frame: Image, candidates: list[PlateCandidate]) -> Image:
    """The frame (gray) with the clearest motion blur seen around any candidate undone: the plate is on
    the car, where a rolling car's smear shows; a candidate on the still background shows none."""
    gray = to_gray(frame)
    blur = min((motion_blur(gray, *c.quad.mean(axis=0)) for c in candidates), key=lambda b: b.dip)
    return deblur(gray, blur)


def worth_reading(candidate: PlateCandidate, seen: list[Seen]) -> bool:
    """Whether a frame's next candidate is read, given the reads so far: every one until a read is
    confident; past it, one whose characters are much taller (a nearer plate, perhaps the barrier car's),
    or one at the place of a confident read not sure enough to stand alone (a second opinion on it)."""
    sure = [(px, read) for px, is_sure, read in seen if is_sure]
    if not sure:
        return True
    return candidate.char_px >= NEARER * max(px for px, _ in sure) or any(
        read.confidence < STEADY_BELOW and quad_overlap(candidate.quad, read.quad) >= SAME_PLACE for _, read in sure
    )


def contradicted(read: PlateRead, seen: list[Seen]) -> bool:
    """Whether another read of the same place, at least ``CONTRADICTS`` sure, reads otherwise."""
    return any(
        other.confidence >= CONTRADICTS
        and other.match.text != read.match.text
        and quad_overlap(other.quad, read.quad) >= SAME_PLACE
        for _, _, other in seen
    )


def nudge(crop: Image, rows: int) -> Image:
    """The crop moved ``rows`` pixels down (up when negative), its edge row repeated into the gap."""
    index = np.clip(np.arange(crop.shape[0]) - rows, 0, crop.shape[0] - 1)
    moved: Image = crop[index]
    return moved


def _read_near_surely(seen: list[Seen]) -> bool:
    """Whether a plate with characters of at least ``LOOK_AGAIN_PX`` was read surely: the frame needs no
    further look."""
    return any(sure and px >= LOOK_AGAIN_PX for px, sure, _ in seen)


def rank(seen: list[Seen]) -> list[PlateRead]:
    """A frame's reads in the lane's order: confident reads first, nearest first; then the rest, surest
    first. A confident read is dropped when a plate is read much nearer elsewhere in the frame, even
    unsurely: it is a car's behind the barrier car."""

    def behind(px: float, read: PlateRead) -> bool:
        return any(
            other_px >= NEARER * px
            and (other.confidence >= NEAR_READ or other.detected)
            and quad_overlap(other.quad, read.quad) < SAME_PLACE
            for other_px, _, other in seen
        )

    kept = [(px if sure else 0.0, read) for px, sure, read in seen if not (sure and behind(px, read))]
    kept.sort(key=lambda pr: (pr[0], pr[1].confidence), reverse=True)
    return [read for _, read in kept]


def nearest(candidates: list[PlateCandidate], min_char_px: float = 0.0) -> list[PlateCandidate]:
    """The candidates (in their order) whose characters are at least ``NEAREST_SHARE`` of the tallest found
    as rows of characters, and at least ``min_char_px`` high: the car at the barrier, not the cars behind it
    (when the barrier car's own plate is missed or found only as a blob, a car behind it is still not read)."""
    tallest = max((c.char_px for c in candidates if not c.blob), default=0.0)
    return [c for c in candidates if c.char_px >= max(min_char_px, NEAREST_SHARE * tallest)]


def line_crop(frame: Image, candidate: PlateCandidate, cut: bool) -> Image:
    """What the recogniser reads of a candidate: its row, or a two-row plate's rows side by side (top row
    first). The plate-trained recogniser reads whole rows (``row_crop``; its training crops are made by this
    same function, see ``sim.plates.crops``); EasyOCR's reads the characters cut out with the plate's lines
    painted over (``char_crop``)."""
    rows = [char_crop(frame, quad) if cut else row_crop(frame, quad) for quad in candidate.rows]
    return rows[0] if len(rows) == 1 else side_by_side(rows)


def read_plate(probs: Probs, countries: Sequence[str], generic: bool, two_row: bool) -> tuple[PlateMatch | None, float]:
    """The plate a crop's recogniser output reads as, and the confidence; (None, 0.0) when it is none.

    Country grammars decode first (the likeliest text of each layout, see ``decode``); a text the grammar
    then accepts as read (no fixes) wins with its confidence. In ``generic`` mode a crop no country layout
    reads confidently is read as the model sees it (greedy) and kept when it looks like a plate."""
    best: tuple[PlateMatch, float] | None = None
    if countries:
        for decoded in sorted(
            constrained(probs, layouts(tuple(countries), two_row)), key=lambda d: d.confidence, reverse=True
        ):
            if not decoded.text:
                continue
            match = _validate(decoded.text, decoded.split, countries, two_row)
            if match is not None:
                best = (match, decoded.confidence)
                break
    if generic and (best is None or best[1] < GENERIC_OVER):
        text, confidence = best_path(probs, weakest=True)
        if len(text) < GENERIC_SURE_LENGTH or not any(char.isalpha() for char in text):
            # two to four characters are as often a sticker, a badge or half a plate; digits alone as often a
            # date stamp, a phone number or a price (7 of the 111 plates of lpr-dev's tuning half are digits)
            confidence *= 0.5
        if confidence < GENERIC_CHAR_SURE:
            confidence *= 0.5
        match = match_plate(text, (), True)
        if match is not None and (best is None or confidence > best[1]):
            best = (match, confidence)
    return (None, 0.0) if best is None else best


def _validate(text: str, split: int, countries: Sequence[str], two_row: bool) -> PlateMatch | None:
    """The grammar's verdict on a decoded text: it must fit as read (the decoder already chose every
    character's class, and two rows in the layout some format prints them in; a fix here would mean the
    decoder and the grammar disagree)."""
    match = match_printed_rows(text[:split], text[split:], countries) if two_row else match_plate(text, countries)
    if match is None or match.fixes:
        return None
    return match
