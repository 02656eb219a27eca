"""The reference recipe on your own blurred/sharp photos, without dual-pixel views (no disparity loss).

From a folder of photos to a trained model (NAME, here my_photos, is yours to choose):

  # 1. Lay the photos out as ~/my_photos/train/source/ (blurred) and ~/my_photos/train/target/ (sharp,
  #    same file names); validation/ and test/ the same way if you have them. Then build the dataset:
  python -m ifan_jax.data.build pairs --manual_dir ~/my_photos --config my_photos

  # 2. Train from scratch (600k steps, as the paper; --config.total_steps=... for fewer) ...
  python -m ifan_jax.train --config configs/pairs.py --workdir runs/my_photos \
      --config.dataset=pairs/my_photos
  # ... or fine-tune the official weights (IFAN.pytorch, linked from the official README); the
  #    model config (iac_compat=True, N=17) comes from the file:
  python -m ifan_jax.train --config configs/pairs.py --workdir runs/my_photos_ft \
      --config.dataset=pairs/my_photos --config.init_from=ckpt/IFAN.pytorch

  # 3. Evaluate on the test split, and deblur other photos:
  python -m ifan_jax.eval --checkpoint runs/my_photos --dataset pairs/my_photos --split test
  python -m ifan_jax.deblur more_photos/ --checkpoint runs/my_photos --out deblurred/

Without a validation/ folder, validation runs on test/ (the log and final_metrics.json's validation_split
say so), and without either the run trains without validation; --config.eval_split=NAME or
--config.eval_dataset=dpdd choose another split or dataset. Photos with left/ and right/ view folders
can keep the disparity loss: --config.use_disparity_loss=true. Every knob, with what it does:
ifan_jax/training/default_config.py.
"""

from ifan_jax.training.default_config import default_config, with_variant


def get_config(variant=""):
  config = default_config()
  config.dataset = "pairs/my_photos"  # Your dataset: --config.dataset=pairs/NAME.
  config.use_disparity_loss = False  # The one loss that reads dual-pixel views.
  return with_variant(config, variant)
