"""Extracts, from LocalStack's recorded AWS responses for KMS, the cases that
apply to a KMS of symmetric encryption keys, into
fixtures/kms/aws-recorded/responses.json (facts for test_recorded.py).

    git --git-dir=<localstack mirror> show HEAD:tests/aws/services/kms/test_kms.snapshot.json > snap.json
    python3 tests/python/kms/extract_recorded.py snap.json <localstack commit>

Each case keeps what AWS answered: the error code and message (placeholders
normalised: every key ARN -> <KEYARN>, account -> <ACCOUNT>), or the member
names of a success and the values that do not vary.
"""

import json
import re
import sys

# (snapshot test name, recorded key) -> the case name test_recorded.py replays.
CASES = [
    ("test_generate_random_invalid_number_of_bytes[None]", "generate-random-exc", "generate-random-missing"),
    ("test_generate_random_invalid_number_of_bytes[0]", "generate-random-exc", "generate-random-0"),
    ("test_generate_random_invalid_number_of_bytes[1025]", "generate-random-exc", "generate-random-1025"),
    ("test_get_key_in_different_region", "describe-key-diff-region-with-id", "other-region-by-id"),
    ("test_get_key_in_different_region", "describe-key-diff-region-with-arn", "other-region-by-arn"),
    ("test_get_key_in_different_region", "describe-key-same-specific-region-with-id", "own-region-by-id"),
    ("test_get_key_in_different_region", "describe-key-same-specific-region-with-arn", "own-region-by-arn"),
    ("test_get_key_does_not_exist", "describe-nonexistent-key-with-id", "nonexistent-by-id"),
    ("test_get_key_does_not_exist", "describe-nonexistent-with-arn", "nonexistent-by-arn"),
    ("test_get_key_does_not_exist", "describe-key-with-valid-id-mrk", "nonexistent-mrk"),
    ("test_get_key_invalid_uuid", "describe-key-with-invalid-uuid", "invalid-key-id"),
    ("test_get_key_invalid_uuid", "describe-key-with-invalid-uuid-2", "invalid-key-id-no-dashes"),
    ("test_get_key_invalid_uuid", "describe-key-with-invalid-uuid-mrk", "invalid-mrk-id"),
    ("test_create_alias", "create_alias", "alias-without-prefix"),
    ("test_hmac_create_key_invalid_operations", "create-hmac-key-without-key-usage", "hmac-key-without-usage"),
    ("test_hmac_create_key_invalid_operations", "create-hmac-key-invalid-spec", "invalid-key-spec"),
    ("test_hmac_create_key_invalid_operations", "create-hmac-key-invalid-key-usage", "invalid-key-usage"),
    ("test_generate_and_verify_mac[HMAC_256-HMAC_SHA_256]", "generate-mac-invalid-key-id", "generate-mac-invalid-key-id"),
    ("test_generate_and_verify_mac[HMAC_256-HMAC_SHA_256]", "verify-mac-invalid-key-id", "verify-mac-invalid-key-id"),
    ("test_error_messaging_for_invalid_keys", "generate-mac-invalid-key-id", "generate-mac-on-encrypt-key"),
    ("test_error_messaging_for_invalid_keys", "verify-invalid-key-id", "verify-on-encrypt-key"),
    ("test_error_messaging_for_invalid_keys", "decrypt-invalid-key-id", "decrypt-naming-another-key"),
    ("test_plaintext_size_for_encrypt", "invalid-plaintext-size-encrypt", "plaintext-too-large"),
    ("test_encrypt_decrypt_encryption_context", "encrypt_response", "encrypt-with-context"),
    ("test_encrypt_decrypt_encryption_context", "decrypt_response_with_encryption_context", "decrypt-with-context"),
    ("test_encrypt_decrypt_encryption_context", "decrypt_response_without_encryption_context", "decrypt-without-context"),
    ("test_encrypt_decrypt_encryption_context", "decrypt_response_with_invalid_ciphertext", "decrypt-truncated-ciphertext"),
    ("test_encryption_context_generate_data_key", "decrypt-without-encryption-context", "data-key-without-context"),
    ("test_encryption_context_generate_data_key_without_plaintext", "decrypt-without-encryption-context", "data-key-wp-without-context"),
    ("test_get_parameters_for_import", "response-error", "import-parameters-for-aws-kms-key"),
    ("test_derive_shared_secret", "response-invalid-key", "derive-shared-secret-on-encrypt-key"),
    ("test_tag_key_with_duplicate_tag_keys_raises_error", "duplicate-tag-keys", "duplicate-tag-keys"),
    ("test_create_key_with_too_many_tags_raises_error", "invalid-tag-key", "too-many-tags"),
    ("test_tag_existing_key_with_invalid_tag_key", "invalid-tag-key", "tag-resource-aws-prefix"),
    ("test_key_with_long_tag_value_raises_error", "too-long-tag-value", "tag-value-too-long"),
    ("test_create_key_with_invalid_tag_key[lowercase_prefix]", "invalid-tag-key", "create-key-aws-prefix"),
    ("test_create_key_with_invalid_tag_key[uppercase_prefix]", "invalid-tag-key", "create-key-AWS-prefix"),
    ("test_create_key_with_invalid_tag_key[too_long_key]", "invalid-tag-key", "tag-key-too-long"),
    ("test_rotate_key_on_demand_raises_error_given_key_is_disabled", "error-response", "rotate-disabled-key"),
    ("test_rotate_key_on_demand_raises_error_given_key_that_does_not_exist", "error-response", "rotate-missing-key"),
    ("test_key_rotations_encryption_decryption", "bad-ciphertext", "decrypt-extended-ciphertext"),
    ("test_key_rotations_limits", "error-response", "rotation-limit"),
    ("test_re_encrypt_incorrect_source_key", "incorrect-source-key", "re-encrypt-naming-another-source-key"),
    ("test_generate_data_key_pair_dry_run", "dryrun_exception", "data-key-pair-dry-run"),
    ("test_generate_data_key_pair_without_plaintext_dry_run", "dryrun_exception", "data-key-pair-wp-dry-run"),
    ("test_create_key", "describe-key", "create-key"),
    ("test_non_multi_region_keys_should_not_have_multi_region_properties", "non_multi_region_keys_should_not_have_multi_region_properties", "not-multi-region"),
    ("test_generate_data_key", "generate-data-key-result", "generate-data-key"),
    ("test_generate_data_key_without_plaintext", "generate-data-key-without-plaintext", "generate-data-key-wp"),
    ("test_re_encrypt[SYMMETRIC_DEFAULT-SYMMETRIC_DEFAULT]", "test_re_encrypt", "re-encrypt"),
    ("test_key_enable_rotation_status[90]", "match_response", "rotation-status-90"),
    ("test_key_enable_rotation_status[180]", "match_response", "rotation-status-180"),
    ("test_rotate_key_on_demand_modifies_key_material", "rotate-on-demand-response", "rotate-on-demand"),
    ("test_rotate_key_on_demand_with_symmetric_key_and_automatic_rotation_disabled", "rotation-status-response-after-rotation", "status-after-on-demand-auto-off"),
    ("test_rotate_key_on_demand_with_symmetric_key_and_automatic_rotation_enabled", "rotation-status-response-after-rotation", "status-after-on-demand-auto-on"),
    ("test_rotate_on_demand_returns_arn_for_key_id", "rotate-on-demand-aws-key", "rotate-on-demand-arn"),
    ("test_key_rotation_updates_current_key_material_id_for_aws_symmetric_keys", "describe-key-after-rotation", "describe-after-rotation"),
    ("test_tag_existing_key_and_untag", "list-resource-tags", "tags-listed"),
    ("test_tag_existing_key_and_untag", "list-resource-tags-after-all-untagged", "tags-all-untagged"),
    ("test_untag_key_partially", "list-resource-tags-after-partially-untagged", "tags-partly-untagged"),
    ("test_update_and_add_tags_on_tagged_key", "list-resource-tags-after-tags-updated", "tags-updated"),
    ("test_generate_random[1]", "result_length", "random-1"),
    ("test_generate_random[1024]", "result_length", "random-1024"),
]

KEY_ARN = re.compile(r"arn:<partition>:kms:<region>:111111111111:key/<[a-z-]+:\d+>|<key-arn>|<mrk-key-arn>")


def norm(s):
    s = KEY_ARN.sub("<KEYARN>", s)
    return s.replace("111111111111", "<ACCOUNT>").replace("<partition>", "aws")


def shape(v):
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k == "ResponseMetadata":
                continue
            out[k] = shape(x)
        return out
    if isinstance(v, list):
        return [shape(x) for x in v]
    if isinstance(v, str):
        return norm(v)
    return v


def main():
    snap = json.load(open(sys.argv[1]))
    by_name = {k.split("::")[-1]: v["recorded-content"] for k, v in snap.items()}
    out = {"source": f"localstack/localstack@{sys.argv[2]} tests/aws/services/kms/test_kms.snapshot.json "
                     "(responses recorded against AWS)",
           "cases": []}
    for test, key, name in CASES:
        rec = by_name[test][key]
        if isinstance(rec, dict) and "Error" in rec:
            case = {"name": name, "test": test, "error": {"Code": rec["Error"]["Code"],
                                                           "Message": norm(rec["Error"]["Message"]),
                                                           "HTTPStatusCode": rec["ResponseMetadata"]["HTTPStatusCode"]}}
        else:
            case = {"name": name, "test": test, "response": shape(rec)}
        out["cases"].append(case)
    json.dump(out, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
