"""Rasteriser of the demo dancer: shaded signed-distance primitives with a z-buffer.

Every body part is a signed distance field evaluated on the pixels of its bounding box;
coverage ``clip(0.5 - d, 0, 1)`` gives analytic anti-aliasing, a cylinder-like normal
derived from the distance gives Lambert + specular shading, and a per-pixel depth of the
front surface resolves overlaps (the far arm goes behind the torso). Pixel centres are at
integer coordinates (as in OpenCV and OpenPose); image axes are x right, y down, and depth
z grows away from the camera. Colours are float RGB in [0, 255].
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Light direction (towards the light): from the upper left, in front of the person.
LIGHT = np.array([-0.45, -0.6, -0.66]) / np.linalg.norm([-0.45, -0.6, -0.66])
_HALF = (LIGHT + np.array([0.0, 0.0, -1.0])) / np.linalg.norm(LIGHT + np.array([0.0, 0.0, -1.0]))

# Part ids written to the part buffer (used for the keypoint visibility test).
PARTS = ("head", "neck", "torso", "r_upper_arm", "r_forearm", "r_hand", "l_upper_arm",
         "l_forearm", "l_hand", "r_thigh", "r_shin", "r_foot", "l_thigh", "l_shin", "l_foot")
PART = {name: i for i, name in enumerate(PARTS)}


@dataclass(frozen=True)
class Material:
    ambient: float = 0.45
    diffuse: float = 0.7
    specular: float = 0.0
    shininess: float = 16.0


CLOTH = Material()
SKIN = Material(0.5, 0.62, 0.12, 18.0)
SHOE = Material(0.45, 0.6, 0.25, 30.0)
HAIR = Material(0.55, 0.55, 0.18, 10.0)


def shade(base: np.ndarray, n: np.ndarray, mat: Material) -> np.ndarray:
    """Lit colour of ``base`` (..., 3) for unit normals ``n`` (..., 3)."""
    lam = np.clip(n @ LIGHT, 0.0, 1.0)[..., None]
    sky = (0.85 - 0.15 * n[..., 1])[..., None]  # normals facing up get more ambient
    col = base * (mat.ambient * sky + mat.diffuse * lam)
    if mat.specular:
        col = col + (255.0 * mat.specular) * np.clip(n @ _HALF, 0.0, 1.0)[..., None] ** mat.shininess
    return col


class Canvas:
    """Float RGB image with a depth buffer and a buffer of part ids."""

    def __init__(self, background: np.ndarray):
        self.rgb = background.astype(np.float32, copy=True)
        h, w = self.rgb.shape[:2]
        self.depth = np.full((h, w), np.inf, np.float32)
        self.part = np.full((h, w), -1, np.int8)

    def box(self, lo: np.ndarray, hi: np.ndarray) -> tuple[slice, slice, np.ndarray, np.ndarray] | None:
        """Pixel window covering [lo, hi] (x, y) plus a margin, clipped; None if empty."""
        h, w = self.depth.shape
        x0, y0 = max(int(np.floor(lo[0])) - 2, 0), max(int(np.floor(lo[1])) - 2, 0)
        x1, y1 = min(int(np.ceil(hi[0])) + 3, w), min(int(np.ceil(hi[1])) + 3, h)
        if x0 >= x1 or y0 >= y1:
            return None
        xs = np.arange(x0, x1, dtype=np.float32)[None, :]
        ys = np.arange(y0, y1, dtype=np.float32)[:, None]
        return slice(y0, y1), slice(x0, x1), xs, ys

    def paint(self, win: tuple[slice, slice], alpha: np.ndarray, z: np.ndarray,
              color: np.ndarray, part: int | np.ndarray) -> None:
        """Blend ``color`` with coverage ``alpha`` where its depth ``z`` is in front."""
        sy, sx = win
        front = (alpha > 0) & (z < self.depth[sy, sx])
        a = np.where(front, alpha, 0.0)[..., None]
        self.rgb[sy, sx] = self.rgb[sy, sx] * (1 - a) + color * a
        solid = front & (alpha >= 0.5)
        self.depth[sy, sx] = np.where(solid, z, self.depth[sy, sx])
        self.part[sy, sx] = np.where(solid, part, self.part[sy, sx])


def _normal_from_sdf(d: np.ndarray, radius: np.ndarray | float,
                     grad: tuple | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Unit normal (..., 3) and its z part of a tube of ``radius`` (pixels) whose outline is
    the zero set of ``d``; ``grad`` is d's gradient (computed numerically if omitted)."""
    if grad is None:
        gy, gx = np.gradient(d) if min(d.shape) > 1 else (np.zeros_like(d), np.zeros_like(d))
    else:
        gx, gy = grad
    g = np.maximum(np.hypot(gx, gy), 1e-6)
    s = np.clip(1.0 + np.minimum(d, 0.0) / np.maximum(radius, 1e-3), 0.0, 1.0)
    nz = -np.sqrt(1.0 - s * s)
    return np.stack([gx / g * s, gy / g * s, nz], -1), nz


def round_cone(px: tuple, a: np.ndarray, b: np.ndarray, ra: float,
               rb: float) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Distance to a tapered capsule, its axis parameter t and gradient; pixels."""
    xs, ys = px
    ab = b - a
    l2 = max(float(ab @ ab), 1e-9)
    t = np.clip(((xs - a[0]) * ab[0] + (ys - a[1]) * ab[1]) / l2, 0.0, 1.0)
    dx, dy = xs - (a[0] + t * ab[0]), ys - (a[1] + t * ab[1])
    q = np.maximum(np.hypot(dx, dy), 1e-6)
    return q - (ra + (rb - ra) * t), t, (dx / q, dy / q)


@dataclass(frozen=True)
class Segment:
    """A tapered capsule from ``a`` to ``b`` (pixels; radii in pixels, depths in metres).

    ``color`` is an RGB triple or a function ``(t, xs, ys) -> (h, w, 3)`` of the axis
    parameter ``t`` and the window's pixel grids.
    """

    a: np.ndarray
    b: np.ndarray
    ra: float
    rb: float
    za: float
    zb: float
    px_per_m: float
    color: object
    mat: Material
    part: int


def draw_capsules(cv: Canvas, segs: list[Segment], blend: float = 0.0) -> None:
    """Draw a chain of capsules (e.g. upper arm, forearm, hand) as one smooth solid.

    The smooth union (``blend`` pixels) removes seams at the joints; each pixel takes its
    colour, material, depth and part from the nearest segment.
    """
    pts = np.array([p for sg in segs for p in (sg.a, sg.b)])
    rmax = max(max(sg.ra, sg.rb) for sg in segs)
    box = cv.box(pts.min(0) - rmax, pts.max(0) + rmax)
    if box is None:
        return
    sy, sx, xs, ys = box
    fields = [round_cone((xs, ys), sg.a, sg.b, sg.ra, sg.rb) for sg in segs]
    d_all = np.stack([f[0] for f in fields])
    idx = np.argmin(d_all, 0) if len(segs) > 1 else np.zeros(d_all.shape[1:], int)
    d = d_all[0]
    for di in d_all[1:]:
        d = smooth_min(d, di, blend) if blend > 0 else np.minimum(d, di)

    def pick(values: list) -> np.ndarray:
        return np.choose(idx, values) if len(segs) > 1 else values[0]

    grad = (pick([f[2][0] for f in fields]), pick([f[2][1] for f in fields]))
    r = pick([sg.ra + (sg.rb - sg.ra) * f[1] for sg, f in zip(segs, fields)])
    n, nz = _normal_from_sdf(d, r, grad)
    z = pick([sg.za + (sg.zb - sg.za) * f[1] for sg, f in zip(segs, fields)]) + nz * (
        r / pick([np.float32(sg.px_per_m) for sg in segs]))
    col = None
    for i, sg in enumerate(segs):
        base = sg.color(fields[i][1], xs, ys) if callable(sg.color) else np.asarray(sg.color, np.float32)
        ci = shade(np.broadcast_to(base, n.shape), n, sg.mat)
        col = ci if col is None else np.where((idx == i)[..., None], ci, col)
    part = pick([np.int8(sg.part) for sg in segs])
    cv.paint((sy, sx), np.clip(0.5 - d, 0, 1), z, col, part)


def smooth_min(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def draw_torso(cv: Canvas, cones: list[tuple], blend: float, z_plane: np.ndarray,
               thickness: float, roundness: float, px_per_m: float, color, part: int) -> None:
    """Torso as a smooth union of tapered capsules (a, b, ra, rb in pixels).

    ``z_plane`` = (cx, cy, c) gives the depth of the torso's mid-plane as
    ``cx * x + cy * y + c``; ``thickness`` is its half-depth and ``roundness`` the width
    of the rounded (shaded) rim, both in pixels.
    """
    pts = np.array([p for a, b, ra, rb in cones for p in (a, b)])
    rmax = max(max(ra, rb) for *_, ra, rb in cones)
    box = cv.box(pts.min(0) - rmax, pts.max(0) + rmax)
    if box is None:
        return
    sy, sx, xs, ys = box
    d = None
    for a, b, ra, rb in cones:
        di = round_cone((xs, ys), a, b, ra, rb)[0]
        d = di if d is None else smooth_min(d, di, blend)
    # a blurred field gives a smooth normal across the creases of the union
    sigma = max(roundness / 2.5, 0.5)
    n, nz = _normal_from_sdf(cv2.GaussianBlur(d.astype(np.float32), (0, 0), sigma), roundness)
    z = z_plane[0] * xs + z_plane[1] * ys + z_plane[2] + nz * (thickness / px_per_m)
    base = color(xs, ys)
    cv.paint((sy, sx), np.clip(0.5 - d, 0, 1), z, shade(base, n, CLOTH), part)


def ellipsoid(cv: Canvas, centre: np.ndarray, z0: float, axes: np.ndarray, radii: np.ndarray,
              px_per_m: float):
    """Ray-cast an ellipsoid (orthographic near its centre).

    ``axes`` rows are its unit axes in image orientation (x right, y down, z away),
    ``radii`` its semi-axes in metres. Returns the window, coverage, front depth, the
    normalised surface coordinates q (..., 3) on the unit sphere in the ellipsoid's own
    axes, and the image-space normal; None when off screen.
    """
    rmax = float(radii.max()) * px_per_m
    box = cv.box(centre - rmax, centre + rmax)
    if box is None:
        return None
    sy, sx, xs, ys = box
    x, y = np.broadcast_arrays((xs - centre[0]) / px_per_m, (ys - centre[1]) / px_per_m)
    q_mat = axes.T @ np.diag(1.0 / radii**2) @ axes  # p^T Q p = 1 on the surface
    bq = q_mat[0, 2] * x + q_mat[1, 2] * y
    cq = q_mat[0, 0] * x * x + 2 * q_mat[0, 1] * x * y + q_mat[1, 1] * y * y - 1.0
    disc = bq * bq - q_mat[2, 2] * cq
    zl = (-bq - np.sqrt(np.maximum(disc, 0.0))) / q_mat[2, 2]
    # silhouette: g = -disc / Q22 <= 0 inside; distance ~ g / |grad g| (in pixels)
    s_mat = q_mat[:2, :2] - np.outer(q_mat[:2, 2], q_mat[:2, 2]) / q_mat[2, 2]
    g = -disc / q_mat[2, 2]
    gx, gy = s_mat[0, 0] * x + s_mat[0, 1] * y, s_mat[1, 0] * x + s_mat[1, 1] * y
    dist = g / np.maximum(2 * np.hypot(gx, gy), 1e-6) * px_per_m
    p = np.stack([x, y, zl], -1)
    local = p @ axes.T  # coordinates along the ellipsoid's axes
    q = local / radii
    n_local = local / radii**2
    n = n_local @ axes
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-9)
    return (sy, sx), np.clip(0.5 - dist, 0, 1), z0 + zl, q, n


def floor_shadow(cv: Canvas, centre: np.ndarray, rx: float, ry: float, strength: float) -> None:
    """Darken the floor with a soft elliptical blob (pixels)."""
    box = cv.box(centre - 2.2 * np.array([rx, ry]), centre + 2.2 * np.array([rx, ry]))
    if box is None or rx < 0.5 or ry < 0.3:
        return
    sy, sx, xs, ys = box
    e = ((xs - centre[0]) / rx) ** 2 + ((ys - centre[1]) / ry) ** 2
    cv.rgb[sy, sx] *= (1.0 - strength * np.exp(-1.5 * e))[..., None]


# --------------------------------------------------------------------------- room
@dataclass(frozen=True)
class Room:
    wall: tuple[float, float, float]
    floor: tuple[float, float, float]
    baseboard: tuple[float, float, float]
    plank_width: float
    pictures: tuple[tuple[float, float, float, float, tuple], ...]  # x, y, w, h, colours


def random_room(rng: np.random.Generator) -> Room:
    walls = [(216, 208, 194), (198, 205, 208), (210, 200, 178), (188, 198, 184), (206, 196, 196)]
    floors = [(150, 106, 72), (124, 88, 62), (168, 128, 88), (138, 118, 98)]
    pics = []
    for x in (rng.uniform(-4.5, -2.8), rng.uniform(2.2, 3.8)):
        w, h = rng.uniform(0.7, 1.3), rng.uniform(0.6, 0.9)
        cols = tuple(tuple(float(c) for c in rng.uniform(60, 200, 3)) for _ in range(3))
        pics.append((float(x), float(rng.uniform(1.35, 1.6)), float(w), float(h), cols))
    return Room(
        wall=walls[rng.integers(len(walls))], floor=floors[rng.integers(len(floors))],
        baseboard=(236.0, 232.0, 224.0) if rng.random() < 0.6 else (95.0, 70.0, 50.0),
        plank_width=float(rng.uniform(0.13, 0.2)), pictures=tuple(pics),
    )


def render_room(size: tuple[int, int], f: float, c: tuple[float, float], cam_h: float,
                wall_z: float, room: Room, rng: np.random.Generator, ss: int = 2) -> np.ndarray:
    """A wall with pictures and a wooden floor seen by the pinhole camera; float RGB."""
    w, h = size
    u = (np.arange(w * ss, dtype=np.float32) + 0.5) / ss - 0.5
    v = (np.arange(h * ss, dtype=np.float32) + 0.5) / ss - 0.5
    u, v = np.meshgrid(u, v)
    horizon_row = c[1] + f * cam_h / wall_z
    # wall coordinates (metres)
    wx, wy = (u - c[0]) * wall_z / f, cam_h - (v - c[1]) * wall_z / f
    plaster = cv2.resize(rng.normal(0, 1, (max(h // 6, 2), max(w // 6, 2))).astype(np.float32),
                         (w * ss, h * ss), interpolation=cv2.INTER_CUBIC)
    light = 0.86 + 0.14 * np.exp(-((wx + 1.0) ** 2) / 18.0) - 0.04 * np.clip(wy - 1.5, 0, 3)
    img = np.asarray(room.wall) * (light * (1 + 0.02 * plaster))[..., None]
    for px, py, pw, ph, cols in room.pictures:
        inside = (np.abs(wx - px) < pw / 2) & (np.abs(wy - py) < ph / 2)
        inner = (np.abs(wx - px) < pw / 2 - 0.05) & (np.abs(wy - py) < ph / 2 - 0.05)
        band = np.clip(((wx - px + pw / 2) / pw * 3).astype(int), 0, 2)
        art = np.asarray(cols)[band] * (0.9 + 0.1 * (wy - py)[..., None])
        img = np.where(inside[..., None], np.where(inner[..., None], art, (70.0, 55.0, 45.0)), img)
    board = (wy < 0.12) & (wy >= 0)
    img = np.where(board[..., None], np.asarray(room.baseboard) * (0.9 + 0.6 * np.clip(wy, 0, .12))[..., None], img)
    # floor: planks running away from the camera
    below = v > horizon_row
    fz = np.where(below, f * cam_h / np.maximum(v - c[1], 1e-3), wall_z)
    fx = (u - c[0]) * fz / f
    k = np.floor(fx / room.plank_width).astype(np.int64)
    table = rng.uniform(0, 1, (3, 1024))
    r1, r2, r3 = (table[i][k % 1024] for i in range(3))
    frac = fx / room.plank_width - k
    seam = (frac < 0.03) | (((fz + 2.0 * r2) % 1.8) < 0.012)
    fade = np.clip(3.0 / fz, 0.0, 1.0)
    grain = 0.05 * fade * np.sin(2 * np.pi * (7 * frac + 0.6 * np.sin(1.3 * fz + 6 * r3)))
    tone = (0.84 + 0.22 * r1 + grain) * (0.9 + 0.15 * np.exp(-((fx - 0.5) ** 2) / 10 - (fz - 5) ** 2 / 30))
    tone = np.where(seam, tone * 0.72, tone) * (0.8 + 0.2 * np.clip((wall_z - fz) / 1.5, 0, 1))
    img = np.where(below[..., None], np.asarray(room.floor) * tone[..., None], img)
    img = cv2.resize(img.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
    return np.clip(img, 0, 255)
