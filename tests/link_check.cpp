// Linked with one library whole and what it declares below it, by airlock_check_links: the
// build fails when that library calls into one above it.
int
main()
{
  return 0;
}
