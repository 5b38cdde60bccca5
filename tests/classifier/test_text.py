from __future__ import annotations

import jieba
import pytest

from classifier.text import JiebaTokenizer, normalise, taxonomy_words, tokenize, tokenizer_for
from yuqing.settings import TaxonomyFile


def test_user_dictionary_keeps_governance_terms_whole(taxonomy: TaxonomyFile) -> None:
    tok = JiebaTokenizer.from_taxonomy(taxonomy)
    tokens = tok.tokenize("工地农民工讨薪引发群体性事件，隔壁又发生燃气泄漏")
    for word in ("农民工", "群体性事件", "燃气泄漏"):
        assert word in tokens
    # Without the user dictionary jieba splits them: the dictionary is what keeps them.
    plain = JiebaTokenizer().tokenize("引发群体性事件，发生燃气泄漏")
    assert "群体性事件" not in plain and "燃气泄漏" not in plain


def test_private_jieba_instance_leaves_global_dictionary_alone(taxonomy: TaxonomyFile) -> None:
    JiebaTokenizer.from_taxonomy(taxonomy).tokenize("群体性事件")
    assert "群体性事件" not in jieba.dt.FREQ


def test_normalisation_folds_width_space_and_case() -> None:
    assert normalise("ＡＢＣ１２３　 \n\t小区") == "abc123 小区"


def test_traditional_folds_to_simplified() -> None:
    pytest.importorskip("opencc")
    assert normalise("農民工討薪，燃氣洩漏") == "农民工讨薪,燃气泄漏"
    # Simplified text passes through unchanged.
    assert normalise("农民工讨薪") == "农民工讨薪"


def test_stop_words_and_punctuation_are_dropped() -> None:
    tokens = JiebaTokenizer().tokenize("我们的小区，已经停水了！！")
    assert "的" not in tokens and "我们" not in tokens and "已经" not in tokens
    assert all(t not in tokens for t in ("，", "！", ","))
    assert "小区" in tokens and "停水" in tokens
    kept = JiebaTokenizer(drop_stop_words=False).tokenize("我们的小区")
    assert "的" in kept


def test_fingerprint_follows_user_words(taxonomy: TaxonomyFile) -> None:
    a = JiebaTokenizer(["农民工", "燃气泄漏"])
    b = JiebaTokenizer(["燃气泄漏", "农民工", "农民工"])
    c = JiebaTokenizer(["农民工"])
    assert a.userdict_hash == b.userdict_hash != c.userdict_hash
    fp = JiebaTokenizer.from_taxonomy(taxonomy).fingerprint()
    assert fp["name"] == "jieba" and fp["version"] == jieba.__version__
    assert JiebaTokenizer(**a.get_params()).fingerprint() == a.fingerprint()


def test_init_only_stores_params() -> None:
    tok = JiebaTokenizer(["农民工"])
    assert not any(k.endswith("_") for k in vars(tok))
    tok.fit()
    assert hasattr(tok, "jieba_")


def test_jieba_start_up_is_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    JiebaTokenizer(["一个没见过的词组"]).tokenize("测试")
    err = capfd.readouterr().err
    assert "Building prefix dict" not in err and "Loading model" not in err


def test_shared_tokenizer_for_the_index(taxonomy: TaxonomyFile) -> None:
    assert tokenizer_for(taxonomy) is tokenizer_for(taxonomy)
    assert "群体性事件" in tokenize("群体性事件", taxonomy)
    assert set(taxonomy_words(taxonomy)) >= {"农民工", "死亡", "城乡建设"}
