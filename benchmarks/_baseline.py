"""The plain baseline the suite compares the project against, written here on purpose without the trainer.

Same networks (``v2v_pipeline.models``), eager fp32, contiguous memory, torch's default threads and
Adam settings, a plain Python loop over in-memory tensors, and the recipe's losses: LSGAN + feature
matching (+ pixel L1 where the recipe has it; + EDN's warp loss, ``loss.edn_warp``; + flow, warp and
temporal GAN for vid2vid), as the reference implementations (pix2pixHD / EDN / vid2vid) write their
loops. The discriminator gets its gradients from a second backward on detached fakes; its parameters
are not frozen for the generator's backward (as in pix2pixHD, whose D grads from the G loss are zeroed
before the D step).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from _data import Clip  # noqa: E402
from _recipes import network_config  # noqa: E402


def _flow_warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    from v2v_pipeline.flow.warp import warp

    return warp(image, flow)


class PlainTrainer:
    def __init__(self, train: dict[str, Any], clip: Clip, seed: int = 0):
        from v2v_pipeline.models.factory import build_models
        from v2v_pipeline.models.losses import GANLoss
        from v2v_pipeline.models.networks import set_subpixel

        self.t, self.clip = train, clip
        self.family = train["model"]
        self.seq = int(train["sequence_length"])
        self.loss = train["loss"]
        torch.manual_seed(seed)
        nets = build_models(network_config(train, clip.size, int(clip.labels.shape[1])))
        self.G, self.D, self.Dt = nets.generator, nets.discriminator, nets.temporal_discriminator
        # the reference computation of `upsampling: nearest`: upsample, pad, 3x3 conv, as the reference code
        # writes it (the project computes the same function on the input before upsampling: NearestUpConv2d)
        set_subpixel(self.G, False)
        if train["network"].get("background"):
            composite = self.G if hasattr(self.G, "set_plate") else self.G.generator  # EDN wraps the composite
            composite.set_plate(clip.images.float().median(dim=0).values[None] / 127.5 - 1.0)
        betas = (train["beta1"], train["beta2"])
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=train["lr"], betas=betas)
        d_params = list(self.D.parameters())
        self.t_scales: list[int] = []
        if self.Dt is not None:
            from v2v_pipeline.models.vid2vid import temporal_windows

            self.t_scales = [s for s in range(len(self.Dt.scales)) if temporal_windows(self.seq, self.Dt.n_frames_D, s)]
            for s in self.t_scales:
                d_params += list(self.Dt.scales[s].parameters())
        self.opt_D = torch.optim.Adam(d_params, lr=train["lr_D"] or train["lr"], betas=betas)
        self.ema = copy.deepcopy(self.G).eval() if train.get("ema_decay", 0) > 0 else None
        if self.ema is not None:
            for p in self.ema.parameters():
                p.requires_grad_(False)
        self.gan = GANLoss(train["gan_mode"])
        self.n_samples = len(clip) - self.seq + 1
        self.steps = 0
        self.G.train(), self.D.train()
        if self.Dt is not None:
            self.Dt.train()

    def batch(self, indices: list[int]) -> dict[str, torch.Tensor]:
        c, L = self.clip, self.seq
        pick = lambda x: torch.stack([x[i : i + L] for i in indices])  # noqa: E731
        b = {"label": pick(c.labels).float() / 127.5 - 1, "image": pick(c.images).float() / 127.5 - 1,
             "flow": pick(c.flows).float(), "valid": pick(c.valid).float() / 255}
        b["flow"][:, 0] = 0
        b["valid"][:, 0] = 0
        return b

    def _adv(self, D, fake_in, real_in, share=1.0) -> torch.Tensor:
        from v2v_pipeline.models.losses import feature_matching_loss

        with torch.no_grad():
            real_feats = D(real_in)
        fake_feats = D(fake_in)
        loss = self.gan(fake_feats, True, for_discriminator=False) * self.loss["gan"] * share
        if self.loss["feat"] > 0:
            loss = loss + feature_matching_loss(fake_feats, real_feats, weight=self.loss["feat"]) * share
        return loss

    def step(self, indices: list[int]) -> dict[str, float]:
        from v2v_pipeline.models.edn import edn_discriminator_input

        b = self.batch(indices)
        labels, reals = b["label"], b["image"]
        d_items: list[tuple[Any, torch.Tensor, torch.Tensor]] = []
        loss_G = torch.zeros(())
        if self.family == "pix2pixhd":
            label, real = labels[:, 0], reals[:, 0]
            fake = self.G(label)
            fake_in, real_in = torch.cat([label, fake], 1), torch.cat([label, real], 1)
            loss_G = loss_G + self._adv(self.D, fake_in, real_in)
            d_items.append((self.D, fake_in, real_in))
            fakes, targets = fake, real
        elif self.family == "edn":
            outs, prev, prev_label = [], None, None
            for t in range(labels.shape[1]):
                out = self.G(labels[:, t], prev, prev_label)
                outs.append(out)
                prev, prev_label = out, labels[:, t]
            fake = torch.stack(outs, 1)
            for t in range(1, labels.shape[1]):
                fake_in = edn_discriminator_input(labels[:, t - 1], labels[:, t], fake[:, t - 1], fake[:, t])
                real_in = edn_discriminator_input(labels[:, t - 1], labels[:, t], reals[:, t - 1], reals[:, t])
                loss_G = loss_G + self._adv(self.D, fake_in, real_in, 1.0 / (labels.shape[1] - 1))
                d_items.append((self.D, fake_in, real_in))
            fakes, targets = fake.flatten(0, 1), reals.flatten(0, 1)
            if self.loss.get("edn_warp", 0) > 0:  # the default's warp loss: frame t vs t-1 warped by the real flow
                from v2v_pipeline.models.losses import warp_loss

                loss_G = loss_G + warp_loss(fake[:, 1:].flatten(0, 1), fake[:, :-1].flatten(0, 1),
                                            b["flow"][:, 1:].flatten(0, 1),
                                            b["valid"][:, 1:].flatten(0, 1)) * self.loss["edn_warp"]
        else:
            loss_G, d_items, fakes, targets = self._vid2vid(b)
        if self.loss["l1"] > 0:
            loss_G = loss_G + F.l1_loss(fakes, targets) * self.loss["l1"]
        loss_D = torch.zeros(())
        for D, f, r in d_items:
            preds = D(torch.cat([f.detach(), r], 0))
            n = f.shape[0]
            loss_D = loss_D + 0.5 * (self.gan([[x[:n] for x in s] for s in preds], False)
                                     + self.gan([[x[n:] for x in s] for s in preds], True))
        self.opt_G.zero_grad(set_to_none=True)
        loss_G.backward()
        self.opt_G.step()
        self.opt_D.zero_grad(set_to_none=True)
        loss_D.backward()
        self.opt_D.step()
        if self.ema is not None:
            with torch.no_grad():
                d = min(self.t["ema_decay"], (1 + self.steps) / (10 + self.steps))
                for e, p in zip(self.ema.parameters(), self.G.parameters()):
                    e.lerp_(p.detach(), 1 - d)
        self.steps += 1
        return {"G_total": float(loss_G.detach()), "D_loss": float(loss_D.detach())}

    def _vid2vid(self, b):
        from v2v_pipeline.models.losses import flow_loss, masked_l1, warp_loss
        from v2v_pipeline.models.vid2vid import gather_windows, temporal_windows

        labels, reals, flows, valid = b["label"], b["image"], b["flow"], b["valid"]
        every = int(self.t.get("cold_start_every", 0))
        cold = bool(every) and self.steps % every == 0
        start = 0 if cold else self.G.n_frames_G - 1
        outs = self.G.generate_sequence(labels, None if cold else reals[:, :start], detach_prev=True)
        fake = torch.stack([o.image for o in outs], 1)
        pred_flow = torch.stack([o.flow for o in outs if o.flow is not None], 1)
        T = labels.shape[1]
        f0 = T - pred_flow.shape[1]
        gl, gr, ff = labels[:, start:].flatten(0, 1), reals[:, start:].flatten(0, 1), fake.flatten(0, 1)
        fake_in, real_in = torch.cat([gl, ff], 1), torch.cat([gl, gr], 1)
        loss_G = self._adv(self.D, fake_in, real_in)
        d_items = [(self.D, fake_in, real_in)]
        pred, ref, conf = pred_flow.flatten(0, 1), flows[:, f0:].flatten(0, 1), valid[:, f0:].flatten(0, 1)
        prev_real = reals[:, f0 - 1 : T - 1].flatten(0, 1)
        loss_G = loss_G + (flow_loss(pred, ref, conf) + masked_l1(_flow_warp(prev_real, pred),
                                                                  reals[:, f0:].flatten(0, 1), conf)) * self.loss["flow"]
        seq_fake = torch.cat([reals[:, :start], fake], 1)
        loss_G = loss_G + warp_loss(seq_fake[:, f0:].flatten(0, 1), seq_fake[:, f0 - 1 : T - 1].flatten(0, 1), ref,
                                    conf) * self.loss["warp"]
        for s in self.t_scales:
            windows = temporal_windows(T, self.Dt.n_frames_D, s)
            wf = torch.cat([torch.stack([_compose(flows[:, a + 1 : c + 1]) for a, c in zip(w[:-1], w[1:])], 1)
                            for w in windows], 0)
            f_in = self.Dt.stack_input(gather_windows(seq_fake, windows), wf)
            r_in = self.Dt.stack_input(gather_windows(reals, windows), wf)
            D = self.Dt.scales[s]
            with torch.no_grad():
                real_feats = D(r_in)
            fake_feats = D(f_in)
            from v2v_pipeline.models.losses import feature_matching_loss

            loss_G = loss_G + self.gan(fake_feats, True, for_discriminator=False) * self.loss["temporal_gan"]
            if self.loss["feat"] > 0:
                loss_G = loss_G + feature_matching_loss(fake_feats, real_feats, weight=self.loss["feat"])
            d_items.append((D, f_in, r_in))
        return loss_G, d_items, ff, gr


def _compose(flows: torch.Tensor) -> torch.Tensor:
    total = flows[:, -1]
    for j in range(flows.shape[1] - 2, -1, -1):
        total = total + _flow_warp(flows[:, j], total)
    return total


class PlainGenerator:
    """Eager fp32 inference of a generator: a plain loop, torch.no_grad, no autocast, contiguous tensors."""

    def __init__(self, generator: torch.nn.Module, family: str, n_frames_G: int = 3):
        self.g, self.family, self.n = generator.eval(), family, n_frames_G

    @property
    def compile_status(self) -> str:
        """A fast path with ``+compile`` (``fastpath.CompiledModule``): pending, compiled or eager (why); else off."""
        return str(getattr(self.g, "status", "off"))

    @torch.no_grad()
    def outputs(self, labels: list[np.ndarray], batch_size: int = 1, feed: torch.Tensor | None = None) -> torch.Tensor:
        """float ``(N, 3, H, W)`` outputs in [-1, 1] for uint8 label maps ``(H, W, 3)``.

        ``feed`` (EDN, vid2vid): teacher forcing; after frame ``t`` the fed-back previous output is ``feed[t]``
        (another path's output) instead of this path's own, so that frame ``t`` measures one step's error.
        """
        from v2v_pipeline.models.vid2vid import stack_history

        to_x = lambda a: torch.from_numpy(np.ascontiguousarray(np.stack(a))).permute(0, 3, 1, 2).float() / 127.5 - 1  # noqa: E731
        outs = []
        if self.family == "pix2pixhd":
            for i in range(0, len(labels), batch_size):
                outs.append(self.g(to_x(labels[i : i + batch_size]).contiguous()).float())
        elif self.family == "edn":
            prev = prev_label = None
            for t, lab in enumerate(labels):
                x = to_x([lab]).contiguous()
                out = self.g(x, prev, prev_label).float()
                prev = out if feed is None else feed[t : t + 1]
                prev_label = x
                outs.append(out)
        else:
            hist_l, hist_o = [], []
            for t, lab in enumerate(labels):
                hist_l = (hist_l + [to_x([lab]).contiguous()])[-self.n :]
                out = self.g(stack_history(hist_l, self.n), stack_history(hist_o, self.n - 1)).image.float()
                hist_o = (hist_o + [out if feed is None else feed[t : t + 1]])[-(self.n - 1) :]
                outs.append(out)
        return torch.cat(outs)

    def clip(self, labels: list[np.ndarray], batch_size: int = 1, feed: torch.Tensor | None = None) -> np.ndarray:
        """uint8 ``(N, H, W, 3)`` frames (see :meth:`outputs`)."""
        y = self.outputs(labels, batch_size, feed)
        return ((y.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
