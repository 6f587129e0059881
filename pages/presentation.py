import streamlit as st
st.title("推进会")
