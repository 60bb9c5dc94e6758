"""Quick 5-fold cross-validation of the intent classifier for data work (~40 s, no Rasa training).

Same preprocessing and features as addons/classifier.py (masks, character n-grams, linear SVM; without the
calibration, so figures run ~0.003 below `make eval-nlu`'s). Prints the weighted F1, the per-intent report and
every held-out miss that touches the intents named on the command line. One split moves the figure by ±0.003;
SEEDS=4 also prints the mean over four splits:

    SEEDS=4 .venv/bin/python scripts/quick_cv.py track_parcel urge_delivery
"""
from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

import numpy as np  # noqa: E402
from rasa.shared.nlu.training_data.loading import load_data  # noqa: E402
from sklearn.metrics import classification_report, f1_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_predict  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from addons.classifier import CharNgramIntentClassifier, compile_masks, masks_for, normalise, vectorizer  # noqa: E402


def main(intents: list[str]) -> None:
    config = CharNgramIntentClassifier.get_default_config()
    data = load_data(str(ROOT / "data" / "nlu"))
    masks = compile_masks(masks_for(data, config))
    examples = [(m.get("text"), m.get("intent")) for m in data.intent_examples]
    texts = [normalise(text, masks) for text, _ in examples]
    labels = np.array([intent for _, intent in examples])
    model = make_pipeline(vectorizer(config), LinearSVC(C=config["C"]))
    # Split 0's predictions are the ones reported below; further splits only add their scores to the mean.
    splits = [cross_val_predict(model, texts, labels, n_jobs=2, cv=StratifiedKFold(5, shuffle=True, random_state=seed))
              for seed in range(max(1, int(os.environ.get("SEEDS", "1"))))]
    predicted = splits[0]
    scores = [f1_score(labels, split, average="weighted") for split in splits]
    print(f"{len(texts)} examples; weighted F1 {scores[0]:.3f}")
    if len(scores) > 1:
        print(f"mean over {len(scores)} splits {np.mean(scores):.4f} (min {min(scores):.4f}, max {max(scores):.4f})")
    print(classification_report(labels, predicted, digits=3))
    wanted = set(intents)
    for (text, expected), got in zip(examples, predicted):
        if expected != got and (expected in wanted or got in wanted):
            print(f"{expected:>26} -> {got:<26} {text}")


if __name__ == "__main__":
    main(sys.argv[1:])
