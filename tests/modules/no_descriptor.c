/* A shared object that is a module but exports no descriptor. */
int no_descriptor_helper(int x);

int no_descriptor_helper(int x)
{
	return x + 1;
}
