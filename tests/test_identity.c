/* plugins/common/identity.c: e-mail addresses and phone numbers
 * normalised for matching people across systems. */
#include "check_main.h"

#include <string.h>

#include "../plugins/common/identity.h"

static const char *email(const char *in)
{
	static char out[300];

	return identity_email(in, out, sizeof(out)) == 0 ? out : NULL;
}

static const char *phone(const char *in, const char *region)
{
	static char out[32];

	if (identity_phone(in, region, out, sizeof(out)) != 0) {
		ck_assert_str_eq(out, "");
		return NULL;
	}
	return out;
}

START_TEST(test_email_trim_case)
{
	ck_assert_str_eq(email("  Guest.1@Example.COM \t\n"), "guest.1@example.com");
	ck_assert_str_eq(email("a@b.it"), "a@b.it");
	ck_assert_str_eq(email("first+tag@sub.example.org"), "first+tag@sub.example.org");
}
END_TEST

START_TEST(test_email_implausible)
{
	char small[8];

	ck_assert_ptr_null(email(""));
	ck_assert_ptr_null(email("   "));
	ck_assert_ptr_null(email("no-at.example.com"));
	ck_assert_ptr_null(email("two@at@example.com"));
	ck_assert_ptr_null(email("@example.com"));
	ck_assert_ptr_null(email("name@"));
	ck_assert_ptr_null(email("name@localhost"));
	ck_assert_ptr_null(email("name@.example.com"));
	ck_assert_ptr_null(email("name@example.com."));
	ck_assert_ptr_null(email("na me@example.com"));
	ck_assert_ptr_null(email("a@b.com, c@d.com"));
	ck_assert_ptr_null(email(NULL));
	/* does not fit: -1 and an empty result, never a cut address */
	ck_assert_int_eq(identity_email("abcdef@example.com", small, sizeof(small)), -1);
	ck_assert_str_eq(small, "");
}
END_TEST

START_TEST(test_phone_italy)
{
	/* a mobile, written the national way and the international ways */
	ck_assert_str_eq(phone("333 123 4567", "IT"), "+393331234567");
	ck_assert_str_eq(phone("+39 333-123-4567", "IT"), "+393331234567");
	ck_assert_str_eq(phone("0039 333 1234567", "US"), "+393331234567");
	ck_assert_str_eq(phone("00393331234567", NULL), "+393331234567");
	/* an Italian landline keeps its 0: it is part of the number */
	ck_assert_str_eq(phone("06 1234 5678", "IT"), "+390612345678");
	ck_assert_str_eq(phone("+39 06 1234 5678", NULL), "+390612345678");
	ck_assert_str_eq(phone("06 1234 5678", "it"), "+390612345678");
}
END_TEST

START_TEST(test_phone_trunk_dropped)
{
	ck_assert_str_eq(phone("020 7946 0018", "GB"), "+442079460018");
	ck_assert_str_eq(phone("+44 (0)20 7946 0018", NULL), "+442079460018");
	ck_assert_str_eq(phone("030 1234567", "DE"), "+49301234567");
	ck_assert_str_eq(phone("01 23 45 67 89", "FR"), "+33123456789");
}
END_TEST

START_TEST(test_phone_nanp)
{
	ck_assert_str_eq(phone("+1 (555) 000-1234", NULL), "+15550001234");
	ck_assert_str_eq(phone("+1 (555) 000-1234", "IT"), "+15550001234");
	ck_assert_str_eq(phone("(555) 000-1234", "US"), "+15550001234");
	ck_assert_str_eq(phone("1-555-000-1234", "US"), "+15550001234");
	ck_assert_str_eq(phone("555.000.1234", "CA"), "+15550001234");
	/* seven digits: no area code */
	ck_assert_ptr_null(phone("000-1234", "US"));
}
END_TEST

START_TEST(test_phone_garbage)
{
	char small[8];

	ck_assert_ptr_null(phone("", "IT"));
	ck_assert_ptr_null(phone("   ", "IT"));
	ck_assert_ptr_null(phone("call me", "IT"));
	ck_assert_ptr_null(phone("333 123 4567 ext. 2", "IT"));
	ck_assert_ptr_null(phone("+", NULL));
	ck_assert_ptr_null(phone("+0 123 456 789", NULL));
	ck_assert_ptr_null(phone("+39 12", NULL));                  /* too short */
	ck_assert_ptr_null(phone("+39 1234 5678 9012 3456", NULL)); /* over 15 digits */
	ck_assert_ptr_null(phone("0", "GB"));                       /* a trunk prefix alone */
	ck_assert_ptr_null(phone(NULL, "IT"));
	ck_assert_int_eq(identity_phone("+393331234567", "IT", small, sizeof(small)), -1);
	ck_assert_str_eq(small, "");
}
END_TEST

START_TEST(test_phone_unknown_region)
{
	/* a national number needs a known region; international ones do not */
	ck_assert_ptr_null(phone("333 123 4567", NULL));
	ck_assert_ptr_null(phone("333 123 4567", "XX"));
	ck_assert_ptr_null(phone("333 123 4567", "ITA"));
	ck_assert_str_eq(phone("+39 333 123 4567", "XX"), "+393331234567");
	ck_assert_int_eq(identity_region_known("IT"), 1);
	ck_assert_int_eq(identity_region_known("us"), 1);
	ck_assert_int_eq(identity_region_known("GB"), 1);
	ck_assert_int_eq(identity_region_known("XX"), 0);
	ck_assert_int_eq(identity_region_known(""), 0);
	ck_assert_int_eq(identity_region_known(NULL), 0);
}
END_TEST

static Suite *test_suite(void)
{
	Suite *s = suite_create("identity");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_email_trim_case);
	tcase_add_test(tc, test_email_implausible);
	tcase_add_test(tc, test_phone_italy);
	tcase_add_test(tc, test_phone_trunk_dropped);
	tcase_add_test(tc, test_phone_nanp);
	tcase_add_test(tc, test_phone_garbage);
	tcase_add_test(tc, test_phone_unknown_region);
	suite_add_tcase(s, tc);
	return s;
}
