// kinds.js - what each region kind the server reports is called on screen; shared by the
// address-space figure, the region page and address translation.
export const KIND_LABEL = {
  text: 'code (text)', rodata: 'read-only data', data: 'data (globals)', bss: 'bss (zeroed globals)', heap: 'heap',
  stack: 'stack', vdso: 'vDSO', vvar: 'vvar', vsyscall: 'vsyscall', anon: 'anonymous', file: 'file',
  shm: 'shared memory', guard: 'guard / reserved', hugetlb: 'hugetlb', other: 'other',
};
