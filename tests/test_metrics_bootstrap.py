"""llmbook.metrics.paired_bootstrap against sacrebleu's paired bootstrap test, on random corpora."""

import numpy as np
import pytest

from llmbook.metrics import chrf, corpus_bleu, paired_bootstrap

sacrebleu = pytest.importorskip("sacrebleu")
from sacrebleu.significance import PairedTest  # noqa: E402

WORDS = "the a cat dog sat ran on under mat rug today quickly big small house".split()


def _corpus(rng, n):
    references = [" ".join(rng.choice(WORDS, size=rng.integers(4, 12))) for _ in range(n)]

    def noisy(rate):
        out = []
        for reference in references:
            words = [w if rng.random() > rate else str(rng.choice(WORDS)) for w in reference.split()]
            out.append(" ".join(words[: max(1, len(words) - int(rng.integers(0, 3)))]))
        return out

    return noisy(0.5), noisy(0.25), references


def _sacrebleu_paired(baseline, system, references, n_samples, seed, monkeypatch):
    monkeypatch.setenv("SACREBLEU_SEED", str(seed))  # read by PairedTest and its baseline's resampling
    metrics = {"BLEU": sacrebleu.metrics.BLEU(), "chrF": sacrebleu.metrics.CHRF()}
    test = PairedTest([("baseline", baseline), ("system", system)], metrics, [references], test_type="bs",
                      n_samples=n_samples)
    _, scores = test()
    return scores


@pytest.mark.parametrize("seed", [12345, 7])
def test_equals_sacrebleu_paired_bootstrap(seed, monkeypatch):
    baseline, system, references = _corpus(np.random.default_rng(seed), 60)
    theirs = _sacrebleu_paired(baseline, system, references, 200, seed, monkeypatch)
    for metric, name in (("bleu", "BLEU"), ("chrf", "chrF2")):
        ours = paired_bootstrap(baseline, system, references, metric=metric, n_samples=200, seed=seed)
        base, other = theirs[name]
        assert ours.baseline_score == pytest.approx(base.score, abs=1e-9)
        assert ours.system_score == pytest.approx(other.score, abs=1e-9)
        # sacrebleu scores its resamples from float32 sums: equal to about 1e-6 of a BLEU point
        assert ours.baseline_mean == pytest.approx(base.mean, abs=1e-4)
        assert ours.system_mean == pytest.approx(other.mean, abs=1e-4)
        # sacrebleu reports the half-width of the same interval
        assert (ours.system_interval[1] - ours.system_interval[0]) / 2 == pytest.approx(other.ci, abs=1e-4)
        assert (ours.baseline_interval[1] - ours.baseline_interval[0]) / 2 == pytest.approx(base.ci, abs=1e-4)
        assert ours.p_value == pytest.approx(other.p_value, abs=1e-12)


def test_scores_equal_the_corpus_metrics_and_the_better_system_wins():
    baseline, system, references = _corpus(np.random.default_rng(3), 80)
    result = paired_bootstrap(baseline, system, references, n_samples=300, seed=0)
    assert result.baseline_score == pytest.approx(corpus_bleu(baseline, references).score)
    assert result.system_score == pytest.approx(corpus_bleu(system, references).score)
    assert result.difference > 0 and result.p_value < 0.05 and result.fraction_not_better < 0.05
    assert result.system_interval[0] <= result.system_mean <= result.system_interval[1]
    assert result.difference_interval[0] > 0
    chrf_result = paired_bootstrap(baseline, system, references, metric="chrf", n_samples=50, seed=0)
    assert chrf_result.system_score == pytest.approx(chrf(system, references).score)


def test_seeded_and_a_system_against_itself():
    baseline, system, references = _corpus(np.random.default_rng(4), 40)
    first = paired_bootstrap(baseline, system, references, n_samples=100, seed=1)
    assert first == paired_bootstrap(baseline, system, references, n_samples=100, seed=1)
    assert first != paired_bootstrap(baseline, system, references, n_samples=100, seed=2)
    same = paired_bootstrap(system, system, references, n_samples=100, seed=1)
    assert same.difference == 0 and same.fraction_not_better == 1.0 and same.difference_interval == (0.0, 0.0)


def test_bad_input():
    hypotheses = ["a cat sat"]
    with pytest.raises(ValueError, match="metric must be"):
        paired_bootstrap(hypotheses, hypotheses, hypotheses, metric="ter")
    with pytest.raises(ValueError, match="reference entries"):
        paired_bootstrap(hypotheses, ["a", "b"], hypotheses)
    with pytest.raises(ValueError, match="n_samples"):
        paired_bootstrap(hypotheses, hypotheses, hypotheses, n_samples=0)
    with pytest.raises(ValueError, match="chrF's"):
        paired_bootstrap(hypotheses, hypotheses, hypotheses, beta=2)
    with pytest.raises(TypeError, match="list of strings"):
        paired_bootstrap("a cat", hypotheses, hypotheses)
