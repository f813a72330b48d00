"""Procedurally rendered articulated dancer: the project's built-in demo footage.

A 3-D stick skeleton (forward kinematics for the spine and arms, two-bone IK that plants
the feet on the floor) is dressed as a person (head with hair and face, shirt, trousers,
skin-coloured forearms and hands, shoes), shaded and anti-aliased with NumPy, and filmed by
a pinhole camera standing in a room. Everything follows from ``seed``: the same seed gives
identical pixels. Ground-truth keypoints come in the OpenPose BODY_25 order.

Example::

    clip = render_dancer(seed=0, n_frames=300, size=(512, 256), fps=15.0, motion="dance")
    clip.frames.shape, clip.keypoints.shape  # (300, 256, 512, 3), (300, 25, 3)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from . import _draw as D
from ._motion import ANKLE_HEIGHT, MOTIONS, UP, Body, Staging, motion, skeleton

__all__ = ["BODY_25", "DEFAULT_STAGING", "MOTIONS", "Appearance", "Camera", "DancerClip",
           "Staging", "iter_dancer", "render_dancer"]

BODY_25 = ("Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
           "MidHip", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye",
           "REar", "LEar", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel")

# Default camera placements: the dancer is close and drifts in depth; the walker zig-zags
# from far away towards the camera, off-centre (another scale, position and depth range).
DEFAULT_STAGING = {"dance": Staging(distance=3.5, travel=0.8, lateral=0.0, width=0.35),
                   "walk": Staging(distance=5.6, travel=2.2, lateral=0.4, width=1.1)}

RGB = tuple[float, float, float]
_SKINS: list[RGB] = [(238, 196, 168), (226, 178, 144), (204, 146, 108), (170, 112, 78),
                     (128, 84, 58), (96, 64, 46)]
_HAIRS: list[RGB] = [(24, 20, 18), (48, 34, 26), (84, 56, 34), (176, 140, 84), (104, 46, 26)]
_SHIRTS: list[RGB] = [(196, 46, 50), (44, 86, 168), (46, 132, 84), (226, 186, 62), (236, 236, 232),
                      (66, 66, 72), (146, 64, 130), (228, 122, 44), (70, 160, 170)]
_TROUSERS: list[RGB] = [(48, 68, 112), (34, 34, 40), (160, 140, 104), (92, 92, 98), (62, 82, 62)]
_SHOES: list[RGB] = [(236, 236, 236), (34, 34, 36), (112, 72, 44), (190, 52, 50)]


@dataclass(frozen=True)
class Appearance:
    """How the person looks: size, build and colours (RGB 0-255)."""

    height: float = 1.75
    build: float = 1.0  # girth multiplier
    skin: RGB = (226, 178, 144)
    hair: RGB = (58, 40, 30)
    long_hair: bool = False
    shirt: RGB = (196, 46, 50)
    trousers: RGB = (48, 68, 112)
    shoes: RGB = (236, 236, 236)

    @classmethod
    def random(cls, rng: np.random.Generator) -> Appearance:
        def pick(options: list[RGB]) -> RGB:
            return tuple(float(c) for c in options[rng.integers(len(options))])  # type: ignore[return-value]

        def luma(c: RGB) -> float:
            return 0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2]

        skin = pick(_SKINS)
        hair = pick(_HAIRS)
        while abs(luma(hair) - luma(skin)) < 45:  # hair must stand out from the face
            hair = pick(_HAIRS)
        return cls(height=float(rng.uniform(1.62, 1.88)), build=float(rng.uniform(0.92, 1.1)),
                   skin=skin, hair=hair, long_hair=bool(rng.random() < 0.4),
                   shirt=pick(_SHIRTS), trousers=pick(_TROUSERS), shoes=pick(_SHOES))


@dataclass(frozen=True)
class Camera:
    """Pinhole camera at (0, ``height``, 0) looking along +Z (no tilt); pixels."""

    f: float  # focal length
    c: tuple[float, float]  # principal point (x, y)
    height: float  # metres above the floor

    def project(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (..., 3) -> pixels (..., 2) and depth (...)."""
        z = np.maximum(p[..., 2], 1e-3)
        return np.stack([self.c[0] + self.f * p[..., 0] / z,
                         self.c[1] - self.f * (p[..., 1] - self.height) / z], -1), z


@dataclass
class DancerClip:
    """A rendered clip and its ground truth.

    ``keypoints`` follow OpenPose: (N, 25, 3) x, y, confidence in pixels, confidence 1 for
    visible joints and (0, 0, 0) for joints that are hidden or outside the frame.
    ``joints`` are the projected positions of all 25 joints, visible or not, and
    ``joints3d`` their world positions in metres (X right, Y up from the floor, Z away
    from the camera); ``background`` is the empty room.
    """

    frames: np.ndarray  # (N, H, W, 3) uint8 RGB
    keypoints: np.ndarray  # (N, 25, 3) float32
    joints: np.ndarray  # (N, 25, 2) float32
    joints3d: np.ndarray  # (N, 25, 3) float32
    fps: float
    camera: Camera
    background: np.ndarray  # (H, W, 3) uint8
    appearance: Appearance
    staging: Staging


# Visibility: a joint is hidden when the torso or the head is in front of it (the far arm
# behind the chest, the far ear behind the head); thin limbs passing in front do not hide
# joints, like OpenPose keeps labelling a hip behind a swinging hand.
_OCCLUDERS = np.zeros(len(D.PARTS) + 1, bool)  # index -1 = background
_OCCLUDERS[[D.PART["torso"], D.PART["head"]]] = True
_OWN = {0: "head", 1: "torso head", 2: "torso", 5: "torso", 8: "torso", 9: "torso", 12: "torso",
        15: "head", 16: "head", 17: "head", 18: "head"}  # parts a joint may lie under
_OWN_MASK = np.zeros((25, len(D.PARTS) + 1), bool)
for _j, _names in _OWN.items():
    _OWN_MASK[_j, [D.PART[n] for n in _names.split()]] = True


def _body25(sk: dict[str, np.ndarray]) -> np.ndarray:
    """(N, 25, 3) world positions of the BODY_25 joints."""
    s, e, w, h, k, a = (sk[n] for n in ("shoulders", "elbows", "wrists", "hips", "knees", "ankles"))
    return np.stack([
        sk["nose"], s.mean(1), s[:, 0], e[:, 0], w[:, 0], s[:, 1], e[:, 1], w[:, 1],
        sk["pelvis"], h[:, 0], k[:, 0], a[:, 0], h[:, 1], k[:, 1], a[:, 1],
        sk["eyes"][:, 0], sk["eyes"][:, 1], sk["ears"][:, 0], sk["ears"][:, 1],
        sk["big_toes"][:, 1], sk["small_toes"][:, 1], sk["heels"][:, 1],
        sk["big_toes"][:, 0], sk["small_toes"][:, 0], sk["heels"][:, 0],
    ], 1)


def _face_facing(sk: dict[str, np.ndarray], body: Body, pts: np.ndarray) -> np.ndarray:
    """(N, 5) whether the nose, eyes and ears face the camera (not behind the head)."""
    axes = sk["head_axes"]  # (N, 3, 3): left, up, forward
    radii = np.array([body.head_rx, body.head_ry, body.head_rz])
    out = []
    for j, thr in ((0, 0.05), (15, 0.15), (16, 0.15), (17, -0.35), (18, -0.35)):
        local = np.einsum("nij,nj->ni", axes, pts[:, j] - sk["head"])
        normal = np.einsum("ni,nij->nj", local / radii**2, axes)
        normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
        to_cam = -pts[:, j] / np.linalg.norm(pts[:, j], axis=-1, keepdims=True)
        out.append((normal * to_cam).sum(-1) > thr)
    return np.stack(out, 1)


def _head_texture(q: np.ndarray, look: Appearance, px: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Colours of the head surface at unit-sphere coordinates q (left, up, forward).

    Returns (colour, hair weight, normal tilt for the nose bump) per pixel; ``px`` is the
    size of one pixel in q units (for soft edges).
    """
    a, b, c = q[..., 0], q[..., 1], q[..., 2]
    skin = np.asarray(look.skin, np.float32)
    back = -0.95 if look.long_hair else -0.6
    line = np.interp(c, [-1.0, -0.4, 0.05, 0.55, 1.0], [back, back, -0.05, 0.42, 0.42])
    hair = np.clip((b - line) / (1.5 * px) + 0.5, 0, 1)
    ear = np.clip(1.0 - (((np.abs(a) - 0.95) / 0.25) ** 2 + ((b + 0.08) / 0.22) ** 2
                         + (c / 0.3) ** 2), 0, 1)
    hair *= 1.0 - np.clip(4 * ear, 0, 1)

    def blob(ca: float, cb: float, ra: float, rb: float) -> np.ndarray:
        e = ((a - ca) / ra) ** 2 + ((b - cb) / rb) ** 2
        return np.clip((1.0 - e) * 0.5 / (px / min(ra, rb)) + 0.5, 0, 1) * (c > 0.25)

    col = np.broadcast_to(skin, q.shape).copy()
    col *= (1.0 - 0.12 * np.clip(4 * ear, 0, 1))[..., None]
    lips = np.array([0.78, 0.52, 0.5]) * skin + np.array([30.0, 0, 0])
    mouth = blob(0.0, -0.5, 0.2, 0.05)
    col += (lips - col) * mouth[..., None]
    col *= (1.0 - 0.25 * blob(0.0, -0.26, 0.09, 0.035))[..., None]  # nostril shadow
    for s in (-1.0, 1.0):
        col *= (1.0 - 0.18 * blob(0.36 * s, 0.1, 0.24, 0.17))[..., None]  # eye socket
        brow = blob(0.38 * s, 0.26, 0.17, 0.05)
        col += (np.asarray(look.hair) * 0.9 - col) * brow[..., None]
        sclera = blob(0.38 * s, 0.06, 0.15, 0.075)
        col += (np.array([238.0, 234.0, 228.0]) - col) * sclera[..., None]
        iris = blob(0.38 * s, 0.06, 0.075, 0.075)
        col += (np.array([45.0, 32.0, 28.0]) - col) * iris[..., None]
    col += (np.asarray(look.hair) - col) * hair[..., None]
    # nose bump: tilt the normal away from the nose ridge
    bump = np.exp(-((a / 0.1) ** 2) - ((b + 0.1) / 0.17) ** 2) * (c > 0)
    tilt = np.stack([a / 0.1**2, (b + 0.1) / 0.17**2], -1) * (0.02 * bump)[..., None]
    return col, hair, tilt


def _paint_figure(cv: D.Canvas, cam: Camera, sk: dict[str, np.ndarray], body: Body,
                  look: Appearance) -> None:
    """Draw one frame's figure (``sk`` holds single-frame arrays) on ``cv``."""
    girth = look.build * body.height / 1.75  # limb and torso radii scale
    size = body.height / 1.75  # head, neck and shoes scale with the height only

    def pp(p: np.ndarray) -> tuple[np.ndarray, float, float]:
        """Pixel position, depth and pixels per metre of a world point."""
        uv, z = cam.project(p)
        return uv, float(z), cam.f / float(z)

    def seg(a3, b3, ra, rb, color, mat, part, dz=0.0) -> D.Segment:
        (a, za, sa), (b, zb, sb) = pp(a3), pp(b3)
        return D.Segment(a, b, ra * sa, rb * sb, za + dz, zb + dz, 0.5 * (sa + sb), color, mat,
                         D.PART[part])

    skin, shirt = np.asarray(look.skin, np.float32), np.asarray(look.shirt, np.float32)
    trousers, shoes = np.asarray(look.trousers, np.float32), np.asarray(look.shoes, np.float32)
    jobs: list[tuple[float, object]] = []  # (depth, draw call), painted back to front

    def chain(segs: list[D.Segment], blend_m: float) -> None:
        depth = float(np.mean([z for sg in segs for z in (sg.za, sg.zb)]))
        jobs.append((depth, lambda: D.draw_capsules(cv, segs, blend_m * segs[0].px_per_m)))

    def sleeve(length_px: float, cut: float):
        def colour(t, xs, ys):
            w = np.clip((t - cut) * length_px + 0.5, 0, 1)[..., None]
            return shirt * (1 - w) + skin * w
        return colour

    for k, side in ((0, "r"), (1, "l")):
        # Arm: sleeve, skin-coloured forearm and hand, one smooth solid.
        sh, el, wr, tip = sk["shoulders"][k], sk["elbows"][k], sk["wrists"][k], sk["hand_tips"][k]
        d = (tip - wr) / max(np.linalg.norm(tip - wr), 1e-6)
        upper = seg(sh, el, 0.048 * girth, 0.042 * girth, None, D.CLOTH, f"{side}_upper_arm")
        upper = replace(upper, color=sleeve(float(np.linalg.norm(upper.b - upper.a)), 0.7))
        chain([upper,
               seg(el, wr, 0.041 * girth, 0.029 * girth, skin, D.SKIN, f"{side}_forearm"),
               seg(wr + 0.01 * d, tip - 0.03 * d, 0.027 * size, 0.036 * size, skin, D.SKIN,
                   f"{side}_hand")], 0.01)
        # Leg in trousers, and a shoe with a darker sole.
        hip, kn, an = sk["hips"][k], sk["knees"][k], sk["ankles"][k]
        chain([seg(hip, kn, 0.09 * girth, 0.064 * girth, trousers, D.CLOTH, f"{side}_thigh"),
               seg(kn, an + 0.02 * UP, 0.062 * girth, 0.055 * girth, trousers, D.CLOTH,
                   f"{side}_shin")], 0.015)
        f_f = sk["foot_axes"][k][1]
        foot = seg(an - 0.05 * f_f - 0.035 * UP, an + 0.15 * f_f - 0.05 * UP, 0.045 * size,
                   0.03 * size, None, D.SHOE, f"{side}_foot")

        def shoe(t, xs, ys, a=foot.a, b=foot.b, r=foot.ra):
            ax = (b - a) / max(np.linalg.norm(b - a), 1e-6)
            normal = np.array([-ax[1], ax[0]]) * (1.0 if ax[0] >= 0 else -1.0)  # points down
            below = (xs - a[0]) * normal[0] + (ys - a[1]) * normal[1]
            sole = np.clip(below - 0.35 * r, 0, 1)[..., None]
            return shoes * (1 - sole) + np.array([70.0, 66, 62]) * sole
        chain([replace(foot, color=shoe)], 0.0)

    # Torso: smooth union of a shoulder bar, two flanks and a pelvis bar.
    l_c, up_c = sk["chest_axes"][0], sk["chest_axes"][1]
    neck, pelvis, hips, shoulders = sk["neck"], sk["pelvis"], sk["hips"], sk["shoulders"]
    l_p = (hips[1] - hips[0]) / np.linalg.norm(hips[1] - hips[0])
    (n2, zn, sn), (p2, zp, spx) = pp(neck), pp(pelvis)
    cones = [(pp(shoulders[0])[0], pp(shoulders[1])[0], 0.055 * girth * sn, 0.055 * girth * sn)]
    for s in (-1.0, 1.0):
        top = neck + s * 0.06 * girth * l_c - 0.06 * up_c
        bottom = pelvis + s * 0.06 * girth * l_p + 0.1 * UP
        cones.append((pp(top)[0], pp(bottom)[0], 0.09 * girth * sn, 0.09 * girth * spx))
    cones.append((pp(hips[0])[0], pp(hips[1])[0], 0.085 * girth * spx, 0.085 * girth * spx))
    uv, zq = cam.project(np.array([shoulders[0], shoulders[1], hips[0], hips[1]]))
    plane = np.linalg.lstsq(np.c_[uv, np.ones(4)], zq, rcond=None)[0]
    axis = n2 - p2
    length = max(float(np.linalg.norm(axis)), 1e-6)
    belt = np.array([60.0, 42, 32])

    def torso_colour(xs, ys):
        t = ((xs - p2[0]) * axis[0] + (ys - p2[1]) * axis[1]) / length**2  # 0 hips, 1 neck
        lat = np.abs((xs - p2[0]) * axis[1] - (ys - p2[1]) * axis[0]) / length
        w_pants = np.clip((0.16 - t) * length + 0.5, 0, 1)[..., None]
        w_belt = np.clip(np.minimum(0.2 - t, t - 0.16) * length + 0.5, 0, 1)[..., None]
        v_neck = np.clip((t - 0.92) * 0.8 * length - lat + 0.5, 0, 1)[..., None]
        col = shirt + (trousers - shirt) * w_pants
        col = col + (belt - col) * w_belt
        return col + (skin * 0.92 - col) * v_neck

    jobs.append((0.5 * (zn + zp) + 0.02, lambda: D.draw_torso(
        cv, cones, 0.04 * sn, plane, 0.11 * girth * sn, 0.16 * girth * sn, 0.5 * (sn + spx),
        torso_colour, D.PART["torso"])))

    # Neck, hair and head.
    head, axes = sk["head"], sk["head_axes"]
    chain([seg(neck - 0.02 * up_c, sk["neck_top"] + 0.02 * axes[1], 0.055 * size, 0.05 * size,
               skin * 0.9, D.SKIN, "neck")], 0.0)
    if look.long_hair:  # hair falling behind the neck to the shoulders
        chain([seg(head - 0.02 * axes[1] - 0.03 * axes[2], neck - 0.07 * up_c - 0.06 * axes[2],
                   0.08 * size, 0.085 * size, look.hair, D.HAIR, "head", dz=0.05)], 0.0)
    radii = np.array([body.head_rx, body.head_ry, body.head_rz])
    img_axes = axes * np.array([1.0, -1.0, 1.0])  # world (Y up) -> image (y down)

    def draw_head() -> None:
        c2, zc, scale = pp(head)
        out = D.ellipsoid(cv, c2, zc, img_axes, radii, scale)
        if out is not None:
            win, alpha, z, q, n = out
            col, hair_w, tilt = _head_texture(q, look, 1.0 / (body.head_ry * scale))
            n = n - tilt[..., :1] * img_axes[0] - tilt[..., 1:] * img_axes[1]
            n /= np.linalg.norm(n, axis=-1, keepdims=True)
            hw = hair_w[..., None]
            cv.paint(win, alpha, z, D.shade(col, n, D.SKIN) * (1 - hw) + D.shade(col, n, D.HAIR) * hw,
                     D.PART["head"])
        # hair volume: a slightly larger ellipsoid over the skull, painted where there is hair
        c2, zc, scale = pp(head + 0.008 * axes[1] - 0.006 * axes[2])
        out = D.ellipsoid(cv, c2, zc, img_axes, radii * np.array([1.08, 1.06, 1.08]), scale)
        if out is not None:
            win, alpha, z, q, n = out
            hair_w = _head_texture(q, look, 1.0 / (body.head_ry * scale))[1]
            col = D.shade(np.broadcast_to(np.asarray(look.hair, np.float32), n.shape), n, D.HAIR)
            cv.paint(win, alpha * hair_w, z, col, D.PART["head"])

    jobs.append((pp(head)[1], draw_head))
    for _, job in sorted(jobs, key=lambda j: -j[0]):
        job()


def _floor_shadows(cv: D.Canvas, cam: Camera, sk: dict[str, np.ndarray]) -> None:
    """Soft shadow of the body on the floor, plus contact shadows under the feet."""
    offset = np.array([0.12, 0.0, 0.15])  # the key light is in front, upper left
    centre = sk["pelvis"] * np.array([1.0, 0.0, 1.0]) + offset
    c2, z = cam.project(centre)
    ry = 0.5 * (cam.project(centre - [0, 0, 0.22])[0][1] - cam.project(centre + [0, 0, 0.22])[0][1])
    D.floor_shadow(cv, c2, cam.f * 0.3 / z, ry, 0.3)
    for k in (0, 1):
        foot = sk["ankles"][k] * np.array([1.0, 0.0, 1.0]) + 0.05 * sk["foot_axes"][k][1]
        c2, z = cam.project(foot)
        lift = max(float(sk["ankles"][k][1]) - ANKLE_HEIGHT, 0.0)
        D.floor_shadow(cv, c2, cam.f * 0.1 / z, cam.f * 0.04 / z, 0.45 * max(1 - 8 * lift, 0.2))


def _visibility(cv: D.Canvas, uv: np.ndarray, z: np.ndarray) -> np.ndarray:
    """(25,) bool: joint inside the frame and not hidden behind another body part."""
    h, w = cv.depth.shape
    inside = (uv[:, 0] >= 0) & (uv[:, 0] <= w - 1) & (uv[:, 1] >= 0) & (uv[:, 1] <= h - 1)
    xi = np.clip(np.round(uv[:, 0]).astype(int), 0, w - 1)
    yi = np.clip(np.round(uv[:, 1]).astype(int), 0, h - 1)
    part = cv.part[yi, xi].astype(int)
    hidden = _OCCLUDERS[part] & ~_OWN_MASK[np.arange(25), part] & (cv.depth[yi, xi] < z - 0.03)
    return inside & ~hidden


@dataclass(frozen=True)
class _Scene:
    look: Appearance
    staging: Staging
    camera: Camera
    room: np.ndarray  # float RGB background
    body: Body
    sk: dict[str, np.ndarray]
    joints3d: np.ndarray  # (N, 25, 3)
    uv: np.ndarray  # (N, 25, 2)
    depth: np.ndarray  # (N, 25)
    facing: np.ndarray  # (N, 5)


def _setup(seed: int, n_frames: int, size: tuple[int, int], fps: float, style: str,
           staging: Staging | None, appearance: Appearance | None) -> _Scene:
    if style not in MOTIONS:
        raise ValueError(f"Unknown motion {style!r}; choose one of {MOTIONS}.")
    if n_frames < 1 or fps <= 0:
        raise ValueError(f"n_frames must be >= 1 and fps > 0 (got {n_frames}, {fps}).")
    w, h = (int(v) for v in size)
    if w < 32 or h < 32:
        raise ValueError(f"size must be (width, height) with both >= 32, got {size}.")
    ss_look, ss_motion, ss_room = np.random.SeedSequence(seed).spawn(3)
    look = appearance or Appearance.random(np.random.default_rng(ss_look))
    staging = staging or DEFAULT_STAGING[style]
    cam = Camera(staging.focal * h, ((w - 1) / 2, (h - 1) / 2), staging.camera_height)
    rng_room = np.random.default_rng(ss_room)
    room = D.render_room((w, h), cam.f, cam.c, cam.height, staging.wall_distance,
                         D.random_room(rng_room), rng_room)
    body = Body(look.height)
    t = np.arange(n_frames) / fps
    sk = skeleton(motion(style, t, np.random.default_rng(ss_motion), staging), body)
    joints3d = _body25(sk)
    uv, depth = cam.project(joints3d)
    return _Scene(look, staging, cam, room, body, sk, joints3d, uv, depth,
                  _face_facing(sk, body, joints3d))


def _render(scene: _Scene, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame ``i`` (uint8 RGB) and its BODY_25 keypoints (25, 3)."""
    ski = {k: v[i] for k, v in scene.sk.items()}
    cv = D.Canvas(scene.room)
    _floor_shadows(cv, scene.camera, ski)
    _paint_figure(cv, scene.camera, ski, scene.body, scene.look)
    vis = _visibility(cv, scene.uv[i], scene.depth[i])
    vis[[0, 15, 16, 17, 18]] &= scene.facing[i]
    kp = np.zeros((25, 3), np.float32)
    kp[vis, :2], kp[vis, 2] = scene.uv[i][vis], 1.0
    return np.clip(cv.rgb + 0.5, 0, 255).astype(np.uint8), kp


def iter_dancer(seed: int, n_frames: int, size: tuple[int, int] = (512, 256), fps: float = 15.0,
                motion: str = "dance", staging: Staging | None = None,
                appearance: Appearance | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(frame, keypoints)`` one frame at a time; the same frames as
    :func:`render_dancer` without holding the clip in memory."""
    scene = _setup(seed, n_frames, size, fps, motion, staging, appearance)
    for i in range(n_frames):
        yield _render(scene, i)


def render_dancer(seed: int, n_frames: int, size: tuple[int, int] = (512, 256),
                  fps: float = 15.0, motion: str = "dance", staging: Staging | None = None,
                  appearance: Appearance | None = None) -> DancerClip:
    """Render ``n_frames`` of a seeded synthetic person.

    Args:
        seed: everything random (appearance, motion variation, room) derives from it;
            the same arguments give identical pixels.
        n_frames: number of frames; frame *i* shows time ``i / fps``.
        size: ``(width, height)`` in pixels.
        fps: frame rate the motion is sampled at.
        motion: one of :data:`MOTIONS` (``"dance"`` or ``"walk"``).
        staging: camera placement (person distance, depth travel, lateral offset); the
            default, :data:`DEFAULT_STAGING`, depends on ``motion``.
        appearance: overrides the seeded look of the person.
    """
    scene = _setup(seed, n_frames, size, fps, motion, staging, appearance)
    frames, kps = zip(*(_render(scene, i) for i in range(n_frames)))
    return DancerClip(
        frames=np.stack(frames), keypoints=np.stack(kps), joints=scene.uv.astype(np.float32),
        joints3d=scene.joints3d.astype(np.float32), fps=float(fps), camera=scene.camera,
        background=np.clip(scene.room + 0.5, 0, 255).astype(np.uint8), appearance=scene.look,
        staging=scene.staging)
