"""The durable broker's S3 listing (tsur.broker_s3.keys_under) and the worker's Kafka transport URL."""
import pytest

from tsur.broker_s3 import keys_under

KEYS = [
    "clusters/c/topics/posts.raw/partitions/0000000000/records/00000000000000000000.batch",
    "clusters/c/topics/posts.raw/partitions/0000000000/records/00000000000000000007.batch",
    "clusters/c/topics/posts.raw/partitions/0000000001/records/00000000000000000003.batch",
    "clusters/c/topics/posts.raw/partitions/0000000000/watermark.json",
    "clusters/c/topics/alerts/partitions/0000000000/records/00000000000000000000.batch",
    "clusters/c/groups/tsur/offsets.json",
    "top.json",
]


@pytest.fixture
def bucket(tmp_path):
    for key in KEYS:
        path = tmp_path / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    (tmp_path / "clusters/c/topics/alerts/partitions/0000000000/records/.localbucket-upload.tmp").write_bytes(b"")
    return tmp_path


def everything_then_filtered(prefix: str) -> list[str]:       # what listing the whole bucket gives
    return sorted((k for k in KEYS if k.startswith(prefix)), key=str.encode)


@pytest.mark.parametrize("prefix", [
    "",
    "clusters/c/topics/posts.raw/partitions/0000000000/records/",
    "clusters/c/topics/posts.raw/partitions/0000000000/",
    "clusters/c/topics/posts.raw/partitions/00000000",            # ends inside a folder name
    "clusters/c/topics/posts.raw/partitions/0000000000/records/0000000000000000000",
    "clusters/c/topics/",
    "top",
    "clusters/c/topics/nothing/partitions/",
])
def test_a_prefix_lists_what_the_whole_bucket_would(bucket, prefix):
    assert [k for k, _ in keys_under(bucket, prefix)] == everything_then_filtered(prefix)


def test_keys_outside_the_bucket_are_never_listed(bucket, tmp_path):
    assert keys_under(bucket / "clusters", "../top") == []
    assert keys_under(bucket / "clusters", "/" + str(bucket).lstrip("/") + "/") == []


def test_the_worker_speaks_to_the_same_brokers_through_its_transport():
    from faust.transport.drivers import by_url

    from streams.kafka_transport import Transport, faust_broker_url

    assert faust_broker_url("kafka://a:9092;kafka://b:19092") == "tsur-kafka://a:9092;tsur-kafka://b:19092"
    assert by_url(faust_broker_url("kafka://127.0.0.1:19092")) is Transport


@pytest.mark.parametrize("prefix, delimiter, marker, marker_is_prefix, max_keys", [
    ("clusters/c/topics/posts.raw/partitions/0000000000/records/", "", "", False, 1000),
    ("clusters/c/topics/posts.raw/partitions/0000000000/records/", "", "", False, 1),       # one page …
    ("clusters/c/topics/posts.raw/partitions/0000000000/records/",                          # … and the next
     "", "clusters/c/topics/posts.raw/partitions/0000000000/records/00000000000000000000.batch", False, 1),
    ("clusters/c/topics/", "/", "", False, 1000),
    ("clusters/c/topics/", "/", "clusters/c/topics/alerts/", True, 1000),
    ("", "/", "", False, 1000),
    ("clusters/c/", "", "", False, 0),
])
def test_a_page_is_what_localbucket_itself_gives(bucket, prefix, delimiter, marker, marker_is_prefix, max_keys):
    """tsur.broker_s3._list_entries keeps localbucket's paging, markers and common prefixes: compared
    with localbucket's own S3Handler._list_entries (which walks the whole bucket) on the same bucket."""
    import localbucket

    from tsur.broker_s3 import _list_entries

    ours = _list_entries(None, bucket, prefix, delimiter, marker, marker_is_prefix, max_keys)
    theirs = localbucket.S3Handler._list_entries(None, bucket, prefix, delimiter, marker, marker_is_prefix, max_keys)
    assert ours == theirs
    assert ours[0] or ours[1] or max_keys == 0
