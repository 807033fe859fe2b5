"""An events file written by PyTorch's SummaryWriter, for TrainingOutputsTests: SLKD's reader must
parse what TensorBoard's own writers produce. Needs torch and tensorboard from PyPI:

    python3 Scripts/reference/tensorboard_fixture.py

Writes Tests/SLKDDistillTests/Vectors/tensorboard/pytorch_scalars.tfevents with the scalars
loss = 0.5 at step 1 and 0.25 at step 2, and lr = 0.001 at step 1. CI never runs this script.
"""
import os
import shutil
import tempfile

from torch.utils.tensorboard import SummaryWriter

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "SLKDDistillTests", "Vectors", "tensorboard", "pytorch_scalars.tfevents")

folder = tempfile.mkdtemp()
writer = SummaryWriter(folder)
writer.add_scalar("loss", 0.5, 1)
writer.add_scalar("lr", 0.001, 1)
writer.add_scalar("loss", 0.25, 2)
writer.close()
(name,) = os.listdir(folder)
os.makedirs(os.path.dirname(OUT), exist_ok=True)
shutil.copy(os.path.join(folder, name), OUT)
print("wrote", OUT)
