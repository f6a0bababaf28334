"""A per-epoch view animated over training: one frame per analyzed checkpoint, as GIF or MP4.

Each frame is the view at one checkpoint, drawn the way `workbench render --out f.png` draws
it (kaleido and Chromium, `workbench.api.Figure.image`) at one fixed size, its title naming
the epoch. imageio writes the frames: a GIF through Pillow (imageio's own dependency), an
MP4 through imageio-ffmpeg's bundled ffmpeg; both come with the `export` extra
(`pip install 'training-dynamics-workbench[export]'`). Every check (the view, the range, the
suffix, the packages) is made before the first frame is drawn; nothing is written on error.
"""

from __future__ import annotations

import os
from pathlib import Path

from workbench.api import VariantHandle
from workbench.core.errors import UserError
from workbench.core.view import get_view

__all__ = ["animation_epochs", "animation_frames", "write_animation", "animate", "parse_range", "FORMATS", "ANIMATION_HELP"]

FORMATS = (".gif", ".mp4")
ANIMATION_HELP = ("GIF/MP4 export needs imageio (and imageio-ffmpeg for MP4) besides kaleido and a Chromium: "
                  "pip install 'training-dynamics-workbench[export]'")
SIZE = (800, 520)  # pixels of every frame (an MP4's sides must be even; a GIF's need not)
MAX_FRAMES = 400  # a GIF of more is tens of MB and minutes to draw: narrow --epochs instead


def parse_range(text: str) -> tuple[int, int]:
    """'A:B' (inclusive; either side may be left out) as (A, B); UserError if malformed."""
    first, sep, last = text.partition(":")
    try:
        lo, hi = (int(first) if first.strip() else 0), (int(last) if last.strip() else 2**62)
    except ValueError:
        lo = hi = -1
    if not sep or lo < 0 or hi < lo:
        raise UserError(f"--epochs {text!r}: expected A:B, the first and last epoch (e.g. 0:2000, or 500: to the end)")
    return lo, hi


def animation_epochs(handle: VariantHandle, view: str, epochs: tuple[int, int]) -> list[int]:
    """The checkpoints in `epochs` (inclusive) at which every source of per-epoch `view` was analyzed."""
    spec = get_view(view)
    if spec.scope != "epoch":
        raise UserError(f"view {view!r} is drawn over the whole run, not per epoch: nothing to animate "
                        f"(`workbench views` lists the per-epoch ones)")
    have = set(handle.epochs)
    for source in spec.sources:
        have &= set(handle.store.artifact_epochs(handle.key, source))
    chosen = sorted(e for e in have if epochs[0] <= e <= epochs[1])
    if len(chosen) < 2:
        raise UserError(f"{len(chosen)} analyzed checkpoint(s) of {view!r} in epochs {epochs[0]}..{epochs[1]}; an "
                        f"animation needs 2 or more (run `workbench analyze {handle.spec}`, or widen --epochs)")
    if len(chosen) > MAX_FRAMES:
        raise UserError(f"{len(chosen)} checkpoints in epochs {epochs[0]}..{epochs[1]}; at most {MAX_FRAMES} frames: "
                        "narrow --epochs")
    return chosen


def animation_frames(handle: VariantHandle, view: str, epochs: list[int], options: dict) -> list[bytes]:
    """One PNG per epoch: the view at that checkpoint, titled with the epoch, all the same size."""
    frames = []
    for epoch in epochs:
        fig = handle.at(epoch).figure(view, **options)
        title = fig.layout.title.text or view
        fig.update_layout(title_text=f"{title} — epoch {epoch}")
        frames.append(fig.image("png", *SIZE))
    return frames


def _imageio(suffix: str):
    try:
        import imageio.v3 as iio
        if suffix == ".mp4":
            import imageio_ffmpeg  # noqa: F401
    except ImportError:
        raise UserError(ANIMATION_HELP) from None
    return iio


def write_animation(frames: list[bytes], out: Path, fps: float) -> None:
    """Write PNG `frames` as a GIF (looping) or an MP4 at `fps` frames a second, atomically."""
    iio = _imageio(out.suffix.lower())
    pictures = [iio.imread(png)[..., :3] for png in frames]  # RGB: neither format keeps alpha
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}{out.suffix}")
    try:
        if out.suffix.lower() == ".gif":  # Pillow's GIF writer: duration per frame in milliseconds; loop 0: forever
            iio.imwrite(tmp, pictures, extension=".gif", duration=1000 / fps, loop=0)
        else:  # imageio-ffmpeg's writer; frame sides are multiples of 8 (SIZE), so nothing is resized
            import imageio.v2 as iio2

            with iio2.get_writer(tmp, format="FFMPEG", mode="I", fps=fps, codec="libx264", macro_block_size=8) as w:
                for picture in pictures:
                    w.append_data(picture)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def animate(handle: VariantHandle, view: str, out: str | os.PathLike, epochs: tuple[int, int] = (0, 2**62),
            fps: float = 4.0, options: dict | None = None) -> tuple[str, int]:
    """Animate per-epoch `view` of a run over the checkpoints in `epochs`; (the path written, frames).

    Raises:
        UserError for a suffix other than .gif/.mp4, a view that is not per-epoch, fewer than
        2 analyzed checkpoints in range, a bad fps, or missing packages; before anything is drawn.
    """
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise UserError(f"cannot animate to {out.name!r}: use a .gif or .mp4 file")
    if not 0.1 <= fps <= 60:
        raise UserError(f"--fps {fps:g}: expected 0.1 to 60 frames a second")
    _imageio(out.suffix.lower())  # missing packages: say so before minutes of drawing
    chosen = animation_epochs(handle, view, epochs)
    frames = animation_frames(handle, view, chosen, options or {})
    out.parent.mkdir(parents=True, exist_ok=True)
    write_animation(frames, out, fps)
    return str(out), len(frames)
